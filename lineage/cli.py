"""The `lineage` command: parse, call the library, print a table or --json, exit.

Exit codes: 0 ok, 1 a check failed, 2 bad input (any LineageError). Library modules
are imported inside the commands so `lineage --help` starts fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

import click

from lineage.formatting import human_size

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handles_errors(command: F) -> F:
    """Turn every LineageError into one line on stderr and exit 2 (no traceback).

    It first refuses unusable ``LINEAGE_*`` values (a home that is a file, a non-boolean
    LINEAGE_READ_ONLY): every command then says the same, including the quick paths that
    never build ``Settings``; ``--help`` still works, since it never reaches a command.
    """

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from lineage.env import check_environment
        from lineage.errors import LineageError

        try:
            check_environment()
            return command(*args, **kwargs)
        except LineageError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


def _open_store(create: bool = False):  # type: ignore[no-untyped-def]
    from lineage.store import Store

    return Store.init() if create else Store.open()


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    if not rows:
        click.echo("(none)")
        return
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _parse_time(text: str | None, option: str) -> datetime | None:
    """A user's time as aware UTC (naive means UTC); one line and exit 2 when it is not one.

    The offset is applied here: ``0001-01-01T00:00:00+01:00`` is before year 1 in UTC, which
    no datetime holds, so every store query would otherwise die of an OverflowError.
    """
    if text is None:
        return None
    from datetime import UTC

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"{option} '{text}' is not an ISO 8601 time: use e.g. 2026-03-03 or 2026-03-03T12:00:00Z")
        raise  # unreachable
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        _fail(f"{option} '{text}' is outside the years 1 to 9999 once converted to UTC: "
              "give a time between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
        raise  # unreachable


def _check_output_file(path: str, option: str = "-o") -> None:
    """Refuse an output path that cannot be written as a file, before any work or any byte is written.

    The checks follow where the write will land (``output_destination``): a pipe or device
    (``-o >(wc -c)``, ``-o /dev/stdout``) only needs to be writable; a symlink is judged by
    its target, whose folder takes the temp file.
    """
    import os
    from pathlib import Path

    from lineage.errors import InvalidInputError
    from lineage.user_paths import output_destination

    if not path.strip():
        raise InvalidInputError(f"{option} is empty: give the path of the file to write")
    target, in_place = output_destination(path)
    if in_place:
        if not os.access(target, os.W_OK):
            raise InvalidInputError(f"{option} {path} is not writable: give a path you may write to")
        return
    if target.is_symlink():  # still a link after resolving: a loop
        raise InvalidInputError(f"{option} {path} is a symlink loop: point it at a file or give another path")
    if target.is_dir():
        raise InvalidInputError(f"{option} {path} is a folder: give a file path, e.g. {Path(path) / 'out'}")
    folder = target.parent
    if not folder.is_dir():
        linked = f" (where the link {path} points)" if target != Path(path) else ""
        raise InvalidInputError(f"{option} {path}: the folder {folder}{linked} does not exist: "
                                "create it or give another path")
    if not os.access(folder, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise InvalidInputError(f"{option} {path} is not writable: give a path you may write to")


class TerminalProgress:
    """A progress bar on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self._bar: Any = None

    def start(self, total: int, label: str) -> None:
        if total > 0 and sys.stderr.isatty():
            self._bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=False)
            self._bar.__enter__()

    def advance(self, amount: int) -> None:
        if self._bar is not None:
            self._bar.update(amount)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def _progress(as_json: bool):  # type: ignore[no-untyped-def]
    from lineage.progress import NO_PROGRESS

    return NO_PROGRESS if as_json else TerminalProgress()


class OneLineUsageError(click.UsageError):
    """A click usage error shown as the product shows every error: one line, exit 2."""

    def __init__(self, error: click.UsageError, help_path: str) -> None:
        super().__init__(error.format_message(), error.ctx)
        self.help_path = help_path

    def show(self, file: Any = None) -> None:
        problem = " ".join(self.format_message().split()).replace(". (", " (").rstrip(".")
        click.echo(f"error: {problem}: see {self.help_path} --help", err=True)


def _help_path(error: click.UsageError, top: click.Context | None) -> str:
    """The command whose --help explains ``error``.

    For a group's default command (``lineage report MODEL@V``) that is the group, since the
    default command has no name a user types. Click raises some parser errors (an option
    missing its value) without a context: the path is then read from the command line.
    """
    ctx = error.ctx
    if ctx is None:
        return _path_in_args(top) if top is not None else "lineage"
    parent = ctx.parent
    if parent is not None and isinstance(parent.command, click.Group) and \
            parent.command.get_command(parent, ctx.info_name or "") is not ctx.command:
        return parent.command_path
    return ctx.command_path


def _path_in_args(top: click.Context) -> str:
    """``lineage snapshot list`` for ``lineage snapshot list --as-of``: the leading command names."""
    command, names = top.command, [top.command_path]
    for token in top.meta.get(_ARGS_KEY, []):
        sub = command.get_command(top, token) if isinstance(command, click.Group) else None
        if sub is None:
            break
        command = sub
        names.append(token)
    return " ".join(names)


_ARGS_KEY = "lineage.args"


class LineageGroup(click.Group):
    """The top-level group: click's 3-4 line usage errors (Usage/Try/Error) become one line.

    Every usage error of any subcommand is raised while this group makes its context
    (its own options) or invokes (a subcommand's parsing and body), so catching there
    covers the whole CLI. A group called without arguments still prints its help.
    """

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        given = list(args)
        try:
            ctx = super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise OneLineUsageError(exc, _help_path(exc, None)) from None
        ctx.meta[_ARGS_KEY] = given
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.NoArgsIsHelpError, OneLineUsageError):
            raise
        except click.UsageError as exc:
            raise OneLineUsageError(exc, _help_path(exc, ctx)) from None


@click.group(cls=LineageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lineage", prog_name="lineage")
def main() -> None:
    """Lineage: trace every model to the exact data and feature logic it was built from.

    The store is found through LINEAGE_HOME (default ./.lineage); see README.md.
    """


@main.command()
@handles_errors
def init() -> None:
    """Create the store in LINEAGE_HOME, or upgrade its schema."""
    from lineage.db import SCHEMA_HEAD, redact

    store = _open_store(create=True)
    click.echo(f"store ready at {store.home} (schema {SCHEMA_HEAD}, database {redact(store.db.url)})")


@main.command()
@handles_errors
def migrate() -> None:
    """Upgrade the store's schema to this release (same as init on an existing store)."""
    from lineage.db import SCHEMA_HEAD

    _require_store_to_migrate()
    store = _open_store(create=True)
    click.echo(f"store at {store.home} is at schema {SCHEMA_HEAD}")


def _require_store_to_migrate() -> None:
    """Refuse where there is no store: a mistyped LINEAGE_HOME must not quietly become a new empty store."""
    from lineage.config import Settings
    from lineage.db import Database, redact
    from lineage.errors import NotFoundError

    settings = Settings()
    database = Database(settings.resolved_db_url)
    try:
        path = database.sqlite_path()  # checked first: connecting to a missing file would create it
        missing = (path is not None and not path.is_file()) or database.current_revision() is None
    finally:
        database.dispose()
    if missing:
        raise NotFoundError(f"no Lineage store at {settings.home} ({redact(database.url)}) to migrate: "
                            "`lineage init` creates a store; migrate only upgrades an existing one")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the loaded snapshots as JSON.")
@handles_errors
def demo(as_json: bool) -> None:
    """Load the sample data into the store (idempotent)."""
    from lineage.demo import load_demo

    store = _open_store(create=True)
    result = load_demo(store, progress=_progress(as_json))
    if as_json:
        _print_json({"snapshots": [s.to_json() for s in result.snapshots],
                     "feature_versions": [v.to_json() for v in result.feature_versions],
                     "refused_candidate": result.refused_candidate,
                     "models": [m.to_json() for m in result.models], "alias_moves": result.alias_moves})
        return
    for item in [*result.snapshots, *result.feature_versions]:
        state = "registered" if item.created else "already present"
        click.echo(f"{item.ref:<52} {state}")
    click.echo(f"refused, as expected: {result.refused_candidate}")
    for trained in result.models:
        click.echo(f"{trained.ref:<52} auc {trained.metrics.get('auc')}  features {trained.feature_set}")
    for move in result.alias_moves:
        click.echo(move)


# -- snapshot -------------------------------------------------------------------------------
@main.group()
def snapshot() -> None:
    """Register, list, show, verify and check out dataset snapshots."""


@snapshot.command("add")
@click.argument("path")
@click.option("--dataset", required=True, help="Dataset name, e.g. customers_raw.")
@click.option("--version", "version", default=None, help="Version name (default: today's UTC date, 2026_02_01).")
@click.option("--stage", default="raw", show_default=True, help="raw, processed, features or online.")
@click.option("--parent", "parents", multiple=True, help="A snapshot this one was derived from (repeatable).")
@click.option("--transform", default="", help="Code reference of the transform that derived it (module:function).")
@click.option("--note", default="", help="Free text kept with the snapshot.")
@click.option("--no-copy", is_flag=True, help="Record hash and location only (data already in immutable storage).")
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot as JSON.")
@handles_errors
def snapshot_add(path: str, dataset: str, version: str | None, stage: str, parents: tuple[str, ...],
                 transform: str, note: str, no_copy: bool, as_json: bool) -> None:
    """Register PATH (Parquet file, CSV file or directory of Parquet files) as DATASET@VERSION."""
    if not (as_json or parents):  # an unchanged re-add needs no SQLAlchemy: see lineage/quick_reads.py
        from lineage.quick_reads import already_registered

        known = already_registered(path, dataset, version, stage, note)
        if known is not None:
            _print_added(known)
            return
    from lineage.quick_add import quick_add  # new data on a local SQLite store: without the ORM

    added = quick_add(path, dataset, version, stage, note, transform, _progress(as_json), parents=parents,
                      copy=not no_copy)
    if added is not None:
        if as_json:
            _print_json(added.to_json())
        else:
            _print_added(added)
        return
    store = _open_store()
    info = store.snapshots.add(path, dataset=dataset, version=version, stage=stage, parents=parents,
                               transform=transform, note=note, copy=not no_copy, progress=_progress(as_json))
    if as_json:
        _print_json(info.to_json())
        return
    _print_added(info)


def _print_added(info: Any) -> None:
    """The one-line answer of ``snapshot add``, from a SnapshotInfo or a quick-read KnownSnapshot."""
    verb = "registered" if info.created else "already registered as"
    click.echo(f"{verb} {info.ref}  sha256 {info.sha256}  {info.rows} rows x {info.columns} columns  "
               f"{human_size(info.size_bytes)}")


@snapshot.command("list")
@click.option("--dataset", default=None, help="Only this dataset.")
@click.option("--as-of", "as_of", default=None, help="Only snapshots that existed at this UTC time.")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def snapshot_list(dataset: str | None, as_of: str | None, as_json: bool) -> None:
    """List snapshots."""
    moment = _parse_time(as_of, "--as-of")
    if not as_json:  # the table needs no SQLAlchemy on a SQLite store: see lineage/quick_reads.py
        from lineage.quick_reads import snapshot_lines

        lines = snapshot_lines(dataset, moment)
        if lines is not None:
            _print_snapshot_table(lines)
            return
    store = _open_store()
    infos = store.snapshots.list(dataset=dataset, as_of=moment)
    if as_json:
        _print_json([info.to_json() for info in infos])
        return
    _print_snapshot_table(infos)


def _print_snapshot_table(snapshots: Sequence[Any]) -> None:
    """The ``snapshot list`` table, from SnapshotInfo entities or quick-read lines alike."""
    _print_table(
        ["REF", "STAGE", "ROWS", "SIZE", "SHA256", "CREATED_AT", "CREATED_BY"],
        [[i.ref, i.stage, i.rows, human_size(i.size_bytes), i.sha256[:12],
          i.created_at.strftime("%Y-%m-%d %H:%M:%SZ"), i.created_by] for i in snapshots],
    )


@snapshot.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def snapshot_show(ref: str, as_json: bool) -> None:
    """Show one snapshot (REF: dataset@version, dataset for its latest, or a sha256 prefix)."""
    store = _open_store()
    info = store.snapshots.get(ref)
    digests = store.snapshots.digests(info.ref)
    if as_json:
        _print_json({**info.to_json(), "digests": [d.to_json() for d in digests]})
        return
    lines = [
        ("ref", info.ref), ("stage", info.stage), ("format", info.format),
        ("sha256", info.sha256), ("size", f"{info.size_bytes} bytes ({human_size(info.size_bytes)})"),
        ("rows", info.rows), ("columns", info.columns), ("fingerprint", info.fingerprint),
        ("parents", ", ".join(info.parents) or "-"), ("transform", info.transform or "-"),
        ("source", info.source_uri), ("stored", _stored_text(info)),
        ("note", info.note or "-"), ("created", f"{info.created_at.isoformat()} by {info.created_by}"),
    ]
    members = sum(1 for d in digests if d.path)
    lines += [(f"{d.algorithm} ({d.origin})", d.digest + (f"  (each of the {members} member files': --json)" if members else ""))
              for d in digests if not d.path]
    if info.purged is not None:
        lines.append(("purged", f"bytes {info.purged.describe()} ({info.purged.blobs} blob(s), "
                                f"{human_size(info.purged.bytes)} erased)"))
    for key, value in lines:
        click.echo(f"{key:<12} {value}")
    click.echo("schema")
    for field in info.schema:
        click.echo(f"  {field['name']}: {field['type']}")
    from lineage.checkcmd import snapshot_check_commands

    for command in snapshot_check_commands(store.objects, info):
        click.echo(f"check with  {command}")


def _stored_text(info: Any) -> str:
    """The ``stored`` line of ``snapshot show``: a purged copy is not stored, whatever the registration said."""
    if info.purged is not None:
        return f"no: bytes {info.purged.describe()}"
    return "yes" if info.stored else "no (--no-copy)"


@snapshot.command("verify")
@click.argument("ref", required=False)
@click.option("--dataset", default=None, help="Every snapshot of this dataset.")
@click.option("--all", "all_", is_flag=True, help="Every snapshot in the store.")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def snapshot_verify(ref: str | None, dataset: str | None, all_: bool, as_json: bool) -> None:
    """Re-hash stored bytes and sources; exit 1 when anything is missing or corrupt."""
    if sum(bool(x) for x in (ref, dataset, all_)) != 1:
        _fail("give exactly one of REF, --dataset NAME or --all")
    results = _open_store().snapshots.verify(ref, dataset=dataset, progress=_progress(as_json))
    if as_json:
        _print_json([r.to_json() for r in results])
    else:
        _print_table(["REF", "OK", "SOURCE", "PROBLEM"],
                     [[r.ref, "purged" if r.purged else "ok" if r.ok else "FAILED", r.source_status,
                       r.problem or r.source_problem or (f"bytes {r.purged.describe()}" if r.purged else "")]
                      for r in results])
    if not all(r.ok for r in results):
        sys.exit(1)


@snapshot.command("checkout")
@click.argument("ref")
@click.argument("dest")
@click.option("--force", is_flag=True,
              help="Replace DEST if it exists: a file, or a folder that is empty or holds only this snapshot's files.")
@handles_errors
def snapshot_checkout(ref: str, dest: str, force: bool) -> None:
    """Write the exact registered bytes of REF to DEST."""
    store = _open_store()
    target = store.snapshots.checkout(ref, dest, force=force, progress=_progress(False))
    click.echo(f"wrote {ref} to {target}")


# -- audit ----------------------------------------------------------------------------------
@main.group()
def audit() -> None:
    """Read and verify the tamper-evident audit log."""


@audit.command("log")
@click.option("--since", default=None, help="Only events at or after this UTC time.")
@click.option("--actor", default=None)
@click.option("--subject", default=None, help="Only events about this ref or name.")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def audit_log(since: str | None, actor: str | None, subject: str | None, as_json: bool) -> None:
    """List audit events in chain order."""
    events = _open_store().audit.log(since=_parse_time(since, "--since"), actor=actor, subject=subject)
    if as_json:
        _print_json([e.to_json() for e in events])
        return
    _print_table(["SEQ", "AT", "ACTOR", "ACTION", "SUBJECT", "HASH"],
                 [[e.seq, e.at.strftime("%Y-%m-%d %H:%M:%SZ"), e.actor, e.action, e.subject, e.hash[:12]]
                  for e in events])


@audit.command("verify")
@click.option("--chain-only", is_flag=True, help="Skip re-hashing the stored blobs.")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def audit_verify(chain_only: bool, as_json: bool) -> None:
    """Recompute the audit hash chain and re-hash every blob; exit 1 naming the first problem."""
    from lineage.integrity import verify_store

    report = verify_store(_open_store(), blobs=not chain_only, progress=_progress(as_json))
    check = report.chain
    if as_json:
        _print_json(report.to_json())
    else:
        if check.ok:
            click.echo(f"audit chain intact: {check.events} events, head {check.head_hash}")
        else:
            click.echo(f"audit chain BROKEN at event {check.first_broken_seq}: {check.problem}")
        if report.blobs_checked:
            bad = [b for b in report.blobs if not b.ok]
            click.echo(f"blobs: {len(report.blobs) - len(bad)} of {len(report.blobs)} intact")
            for blob in bad:
                click.echo(f"  {blob.kind} {blob.ref}: {blob.problem}")
            if report.purged:
                click.echo(f"purged on purpose (not checked, not a problem): {len(report.purged)} snapshot(s)")
            for item in report.purged:
                click.echo(f"  {item['ref']}: purged on {item['at']} by {item['by']}: {item['reason']}")
    if not report.ok:
        sys.exit(1)


@main.command()
@click.option("--yes", is_flag=True, help="Delete (default: only list what would be deleted).")
@click.option("--grace", default=3600.0, show_default=True, metavar="SECONDS",
              help="Keep unreferenced blobs younger than this (a registration may be in flight).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def gc(yes: bool, grace: float, as_json: bool) -> None:
    """Remove blobs no snapshot or model references (left by interrupted registrations)."""
    from lineage.gc import collect

    result = collect(_open_store(), remove=yes, grace_seconds=grace)
    if as_json:
        _print_json(result.to_json())
        return
    verb = "removed" if yes else "would remove (pass --yes)"
    click.echo(f"{result.referenced} blobs referenced; {verb} {len(result.unreferenced)} unreferenced "
               f"and {len(result.stale_temporaries)} left by interrupted writes; "
               f"kept {len(result.kept_young)} younger than {grace:g} s")
    for digest in result.unreferenced:
        click.echo(f"  {digest}")
    uploads = set(result.incomplete_uploads)
    for path in result.stale_temporaries:
        click.echo(f"  {path}{' (incomplete upload)' if path in uploads else ''}")
    if result.ignored_foreign:
        click.echo(f"left alone {len(result.ignored_foreign)} object(s) below the store root that are not its "
                   "blobs (another store's?): see --json")


def _register_groups() -> None:
    """Command groups that live in their own modules (imported here; their code loads lazily)."""
    from lineage.cli_drift import drift, profile
    from lineage.cli_export import export
    from lineage.cli_features import features
    from lineage.cli_graph import impact, trace
    from lineage.cli_import import import_group
    from lineage.cli_models import model
    from lineage.cli_models_check import diff, reproduce
    from lineage.cli_purge import purge
    from lineage.cli_report import keys, report

    main.add_command(features)
    main.add_command(profile)
    main.add_command(drift)
    main.add_command(diff)
    main.add_command(reproduce)
    main.add_command(model)
    main.add_command(trace)
    main.add_command(impact)
    main.add_command(report)
    main.add_command(keys)
    main.add_command(export)
    main.add_command(import_group)
    main.add_command(purge)


if __name__ == "__main__":  # `python -m lineage.cli`: run the importable module, whose groups register once
    from lineage.cli import main as _importable_main

    _importable_main()
else:
    _register_groups()
