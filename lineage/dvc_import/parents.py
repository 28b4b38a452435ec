"""Which imported outputs a pipeline output was derived from, and the order to register them in.

A ``dvc.lock`` stage turned its deps into its outs. A dep that names a tracked output
(or a file inside a tracked folder) becomes a parent link of each of the stage's outs,
with the stage command as the transform. Deps that name no tracked output (the
stage's scripts, params files) are not snapshots; the note of the output lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from lineage.dvc_import.metafiles import DvcEntry
from lineage.dvc_import.plan import PlannedOut
from lineage.errors import InvalidInputError


@dataclass(frozen=True)
class DepLink:
    """A stage dependency, and the imported output it names (if any)."""

    dep: DvcEntry
    parent: PlannedOut | None
    member: str | None = None  # the file inside the parent folder the dep names


def dep_links(planned: PlannedOut, by_path: dict[str, PlannedOut]) -> list[DepLink]:
    """The deps of the stage that wrote ``planned`` (none for ``dvc add`` outputs)."""
    stage = planned.out.stage
    if stage is None:
        return []
    links = []
    for dep in stage.deps:
        parent = by_path.get(dep.path)
        member = None
        if parent is None:
            for path, candidate in by_path.items():
                if candidate.out.entry.is_dir and dep.path.startswith(path + "/"):
                    parent, member = candidate, dep.path[len(path) + 1:]
                    break
        links.append(DepLink(dep, parent, member))
    return links


def import_order(plans: list[PlannedOut]) -> list[PlannedOut]:
    """Parents before children (a stable topological order); InvalidInputError on a cycle."""
    by_path = {p.path: p for p in plans}
    waiting = {p.path: {link.parent.path for link in dep_links(p, by_path) if link.parent is not None} - {p.path}
               for p in plans}
    ordered: list[PlannedOut] = []
    while waiting:
        ready = sorted(path for path, needs in waiting.items() if not needs)
        if not ready:
            raise InvalidInputError(
                f"the dvc.lock stages form a cycle through {', '.join(sorted(waiting))}: "
                "fix the pipeline so that `dvc repro` accepts it"
            )
        for path in ready:
            ordered.append(by_path[path])
            del waiting[path]
        for needs in waiting.values():
            needs.difference_update(ready)
    return ordered


def describe_stage(planned: PlannedOut) -> str:
    """The note recorded with an imported snapshot: where DVC declared it, and the stage's deps."""
    out = planned.out
    if out.stage is None:
        return f"imported from DVC: {out.declared_in}"
    deps = ", ".join(f"{d.path} (md5 {d.md5 or '?'})" for d in out.stage.deps) or "none"
    return f"imported from DVC: stage {out.stage.name} of {out.stage.lockfile}; cmd: {out.stage.cmd}; deps: {deps}"
