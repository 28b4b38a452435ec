"""``lineage diff A B``: why did the model change?

Two model versions are compared on everything a model version records: the input
snapshots by role (which bytes), the feature-set version (and, within one feature set,
the classified schema and code changes), the code reference, params, seed, the
environment and the metrics. ``compare`` is pure (two entities in, a value out); only
``diff_models`` touches the store, to load the entities and the feature schema diff.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lineage import environment
from lineage.entities import ModelInput, ModelVersionInfo

if TYPE_CHECKING:
    from lineage.store import Store

# (feature_set name, from version, to version) -> SchemaDiff.to_json()
SchemaDiffProvider = Callable[[str, str, str], dict[str, Any]]

CODE_FIELDS = ("git_commit", "git_dirty", "entrypoint", "workdir")
SECTIONS = ("data", "feature_set", "code", "params", "seed", "environment", "metrics", "artifact")


@dataclass(frozen=True)
class ModelDiff:
    """Every difference between two model versions; empty sections mean "the same"."""

    from_ref: str
    to_ref: str
    data: dict[str, Any]
    feature_set: dict[str, Any]
    code: dict[str, Any]
    params: dict[str, Any]
    seed: dict[str, Any]
    environment: dict[str, Any]
    metrics: dict[str, Any]
    artifact: dict[str, Any]

    @property
    def changed_sections(self) -> list[str]:
        """The sections that differ, in report order."""
        return [name for name in SECTIONS if _section_changed(name, getattr(self, name))]

    @property
    def identical(self) -> bool:
        return not self.changed_sections

    def to_json(self) -> dict[str, Any]:
        """The shape ``lineage diff --json`` prints (keys are stable)."""
        return {
            "from": self.from_ref,
            "to": self.to_ref,
            "data": self.data,
            "feature_set": self.feature_set,
            "code": self.code,
            "params": self.params,
            "seed": self.seed,
            "environment": self.environment,
            "metrics": self.metrics,
            "artifact": self.artifact,
            "identical": self.identical,
        }


def diff_models(store: Store, a_ref: str, b_ref: str) -> ModelDiff:
    """Load two model versions (refs, aliases or names) and compare them."""
    a, b = store.models.get(a_ref), store.models.get(b_ref)

    def schema_diff(name: str, old: str, new: str) -> dict[str, Any]:
        return store.features.diff(name, old, new).to_json()

    return compare(a, b, schema_diff=schema_diff)


def compare(a: ModelVersionInfo, b: ModelVersionInfo, *, schema_diff: SchemaDiffProvider | None = None) -> ModelDiff:
    """What changed from model version ``a`` to ``b`` (pure; the provider supplies feature schema diffs)."""
    return ModelDiff(
        from_ref=a.ref,
        to_ref=b.ref,
        data=diff_inputs(a.inputs, b.inputs),
        feature_set=diff_feature_set(a.feature_set, b.feature_set, schema_diff),
        code=diff_code(a.code, b.code),
        params=diff_mapping(a.params, b.params),
        seed=diff_seed(a, b),
        environment=environment.diff(a.environment, b.environment),
        metrics=diff_metrics(a.metrics, b.metrics),
        artifact={"from": a.artifact.get("sha256"), "to": b.artifact.get("sha256"),
                  "changed": a.artifact.get("sha256") != b.artifact.get("sha256")},
    )


# -- sections (pure) -----------------------------------------------------------------------
def diff_inputs(old: list[ModelInput], new: list[ModelInput]) -> dict[str, Any]:
    """Inputs matched by role, then by dataset; a role with one unmatched input per side is a change."""
    added: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    roles = list(dict.fromkeys([i.role for i in old] + [i.role for i in new]))
    for role in roles:
        before = [i for i in old if i.role == role]
        after = [i for i in new if i.role == role]
        pairs: list[tuple[ModelInput, ModelInput]] = []
        for item in list(before):
            match = next((x for x in after if x.ref == item.ref), None) or next(
                (x for x in after if _dataset(x.ref) == _dataset(item.ref)), None)
            if match is not None:
                pairs.append((item, match))
                before.remove(item)
                after.remove(match)
        if len(before) == 1 and len(after) == 1:
            pairs.append((before.pop(), after.pop()))
        for a, b in pairs:
            if a.ref != b.ref or a.sha256 != b.sha256:
                changed.append({"role": role, "from": _side(a), "to": _side(b), "same_bytes": a.sha256 == b.sha256})
        removed.extend({"role": role, **_side(i)} for i in before)
        added.extend({"role": role, **_side(i)} for i in after)
    return {"added": added, "removed": removed, "changed": changed}


def diff_feature_set(old: str, new: str, schema_diff: SchemaDiffProvider | None) -> dict[str, Any]:
    """From/to refs; within one feature set, its classified schema and code changes."""
    old_name, _, old_version = old.partition("@")
    new_name, _, new_version = new.partition("@")
    same_set = bool(old and new and old_name == new_name)
    result: dict[str, Any] = {"from": old or None, "to": new or None, "changed": old != new,
                              "same_set": same_set, "schema_diff": None, "note": ""}
    if old == new:
        return result
    if not old or not new:
        result["note"] = f"only {new or old} records a feature set"
    elif not same_set:
        result["note"] = f"different feature sets ({old_name} and {new_name}): their schemas are not compared"
    elif schema_diff is None:
        result["note"] = "schema diff not computed"
    else:
        result["schema_diff"] = schema_diff(old_name, old_version, new_version)
    return result


def diff_code(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Commit, dirty flags, entrypoint and workdir; ``unverified`` when either tree was dirty."""
    fields = {key: {"from": old.get(key), "to": new.get(key)} for key in CODE_FIELDS if old.get(key) != new.get(key)}
    return {"changed": bool(fields), "fields": fields,
            "unverified": bool(old.get("git_dirty") or new.get("git_dirty"))}


def diff_mapping(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Keys added, removed and changed (values compared as JSON values)."""
    return {
        "added": {key: new[key] for key in sorted(new.keys() - old.keys())},
        "removed": {key: old[key] for key in sorted(old.keys() - new.keys())},
        "changed": {key: {"from": old[key], "to": new[key]}
                    for key in sorted(old.keys() & new.keys()) if old[key] != new[key]},
    }


def diff_seed(a: ModelVersionInfo, b: ModelVersionInfo) -> dict[str, Any]:
    """The run seed and the recorded PYTHONHASHSEED."""
    hash_a = (a.environment.get("seeds") or {}).get("PYTHONHASHSEED")
    hash_b = (b.environment.get("seeds") or {}).get("PYTHONHASHSEED")
    return {"from": a.seed, "to": b.seed, "changed": a.seed != b.seed or hash_a != hash_b,
            "pythonhashseed": {"from": hash_a, "to": hash_b}}


def diff_metrics(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Every metric of either side: from, to, delta (numbers only) and whether it changed."""
    result = {}
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        delta = None
        if _number(before) and _number(after):
            delta = after - before
            if isinstance(delta, float):
                delta = round(delta, 12)  # 0.568626 - 0.56387 prints as 0.004756, not 0.0047560000000000425
        result[name] = {"from": before, "to": after, "delta": delta, "changed": not _same_value(before, after)}
    return result


# -- text ----------------------------------------------------------------------------------
def render_text(diff: ModelDiff) -> list[str]:
    """The readable form: one section per difference, then what stayed the same."""
    lines = [f"{diff.from_ref} -> {diff.to_ref}"]
    changed = diff.changed_sections
    if not changed:
        return [*lines, "identical: same data, feature set, code, params, seed, environment, metrics and artifact"]
    for name in changed:
        lines.append(_TITLES[name])
        lines.extend(f"  {line}" for line in _RENDERERS[name](getattr(diff, name)))
    same = [_TITLES[name] for name in SECTIONS if name not in changed]
    if "code" not in changed and diff.code["unverified"]:
        same[same.index("code")] = "code (commit and entrypoint; recorded from a dirty tree, so unverified)"
    if same:
        lines.append(f"unchanged: {', '.join(same)}")
    return lines


def _render_data(data: dict[str, Any]) -> list[str]:
    lines = []
    for item in data["changed"]:
        old, new = item["from"], item["to"]
        suffix = " (same bytes)" if item["same_bytes"] else ""
        lines.append(f"{item['role']}: {old['ref']} ({old['sha256'][:12]}) -> {new['ref']} ({new['sha256'][:12]}){suffix}")
    lines.extend(f"{i['role']}: added {i['ref']} ({i['sha256'][:12]})" for i in data["added"])
    lines.extend(f"{i['role']}: removed {i['ref']} ({i['sha256'][:12]})" for i in data["removed"])
    return lines


def _render_feature_set(section: dict[str, Any]) -> list[str]:
    schema = section["schema_diff"]
    head = f"{section['from'] or '(none)'} -> {section['to'] or '(none)'}"
    if schema is not None:
        head += f" (changes require a {schema['required_bump']} bump)"
    lines = [head]
    if section["note"]:
        lines.append(section["note"])
    for change in (schema or {}).get("changes", []):
        lines.append(f"{change['kind']} {change['feature'] or '(set)'} [{change['class']}]: {change['detail']}")
        lines.extend(f"    {code_line}" for code_line in change["code_diff"].splitlines())
    return lines


def _render_code(section: dict[str, Any]) -> list[str]:
    lines = [f"{key}: {_short(v['from'])} -> {_short(v['to'])}" for key, v in section["fields"].items()]
    if section["unverified"]:
        lines.append("recorded from a dirty work tree: code changes beyond the commit cannot be ruled out")
    return lines


def _render_mapping(section: dict[str, Any]) -> list[str]:
    lines = [f"added {key} = {_value(v)}" for key, v in section["added"].items()]
    lines += [f"removed {key} (was {_value(v)})" for key, v in section["removed"].items()]
    for key, v in section["changed"].items():
        old, new = v["from"], v["to"]
        if isinstance(old, list) and isinstance(new, list) and all(isinstance(x, str) for x in old + new):
            gained = [x for x in new if x not in old]
            lost = [x for x in old if x not in new]
            if gained or lost:
                parts = [f"+{x}" for x in gained] + [f"-{x}" for x in lost]
                lines.append(f"{key}: {' '.join(parts)}")
                continue
        lines.append(f"{key}: {_value(old)} -> {_value(new)}")
    return lines


def _render_seed(section: dict[str, Any]) -> list[str]:
    lines = [f"seed: {section['from']} -> {section['to']}"] if section["from"] != section["to"] else []
    hashseed = section["pythonhashseed"]
    if hashseed["from"] != hashseed["to"]:
        lines.append(f"PYTHONHASHSEED: {hashseed['from']} -> {hashseed['to']}")
    return lines


def _render_environment(section: dict[str, Any]) -> list[str]:
    lines = [f"{key}: {v['from']} -> {v['to']}" for key, v in section["fields"].items()]
    lines += [f"added {name} {version}" for name, version in section["added"].items()]
    lines += [f"removed {name} {version}" for name, version in section["removed"].items()]
    lines += [f"{name}: {v['from']} -> {v['to']}" for name, v in section["changed"].items()]
    return lines


def _render_metrics(section: dict[str, Any]) -> list[str]:
    lines = []
    for name, v in section.items():
        if v["changed"]:
            delta = f" ({v['delta']:+g})" if v["delta"] is not None else ""
            lines.append(f"{name}: {_value(v['from'])} -> {_value(v['to'])}{delta}")
    return lines


def _render_artifact(section: dict[str, Any]) -> list[str]:
    return [f"sha256 {section['from']} -> {section['to']}"]


_TITLES = {"data": "data", "feature_set": "feature set", "code": "code", "params": "params", "seed": "seed",
           "environment": "environment", "metrics": "metrics", "artifact": "artifact"}
_RENDERERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "data": _render_data, "feature_set": _render_feature_set, "code": _render_code, "params": _render_mapping,
    "seed": _render_seed, "environment": _render_environment, "metrics": _render_metrics,
    "artifact": _render_artifact,
}


# -- helpers -------------------------------------------------------------------------------
def _section_changed(name: str, section: dict[str, Any]) -> bool:
    if name in ("data", "params"):
        return any(section[key] for key in section)
    if name == "environment":
        return not environment.is_empty(section)
    if name == "metrics":
        return any(v["changed"] for v in section.values())
    return bool(section["changed"])


def _side(item: ModelInput) -> dict[str, Any]:
    return {"ref": item.ref, "sha256": item.sha256, "stage": item.stage}


def _dataset(ref: str) -> str:
    return ref.partition("@")[0]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _value(value: Any) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def _short(value: Any) -> str:
    if isinstance(value, str) and len(value) == 40 and all(c in "0123456789abcdef" for c in value):
        return value[:12]
    return "(none)" if value in (None, "") else str(value)
