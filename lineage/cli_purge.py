"""`lineage purge REF --reason TEXT [--yes]`: a thin translator over lineage.purge.

Dry run by default (prints what would be erased and what depends on it, writes
nothing); `--yes` erases. Exit 0 when purged, already purged or previewed; 2 for bad
input (unknown ref, empty reason, a ref that is not a snapshot, a read-only store).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from lineage.cli import _open_store, _print_json, handles_errors
from lineage.formatting import human_size, short_hash

if TYPE_CHECKING:
    from lineage.purge import PurgeBlob, PurgeReport


@click.command("purge")
@click.argument("ref")
@click.option("--reason", default=None, help="Why the bytes must go (required; kept in the audit log and tombstone).")
@click.option("--yes", is_flag=True, help="Erase (default: only show what would be erased).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan or the result as JSON (stable keys).")
@handles_errors
def purge(ref: str, reason: str | None, yes: bool, as_json: bool) -> None:
    """Erase a snapshot's stored bytes, keeping its hashes, lineage, a tombstone and the audit trail.

    Blobs another snapshot or a model version shares are kept (only this snapshot's
    reference is dropped). Models built from REF then report not-reproducible: input purged.
    """
    from lineage.purge import purge as run_purge

    report = run_purge(_open_store(), ref, reason=reason or "", yes=yes)
    if as_json:
        _print_json(report.to_json())
        return
    for line in report_lines(report):
        click.echo(line)


def report_lines(report: PurgeReport) -> list[str]:
    """The plan or the result as lines for a terminal."""
    if report.already_purged and not report.acted:
        lines = [f"{report.ref} is already {report.tombstone.describe() if report.tombstone else 'purged'}"]
        if not report.erase:
            return [*lines, "nothing left to erase"]
        lines.append(f"an interrupted purge left {len(report.erase)} blob(s) ({human_size(report.erase_bytes)}); "
                     "pass --yes to erase them")
        return lines + [_blob_line(b) for b in report.erase]
    if report.acted:
        lines = [f"purged {report.ref}: erased {len(report.erased)} blob(s) ({human_size(report.erased_bytes)}); "
                 f"tombstone: {report.tombstone.describe() if report.tombstone else ''}"]
    else:
        lines = [f"would purge {report.ref} (sha256 {short_hash(report.sha256)}, {report.format}): pass --yes to erase",
                 f"reason: {report.reason}",
                 f"erase {len(report.erase)} blob(s), {human_size(report.erase_bytes)}:"]
        lines += [_blob_line(b) for b in report.erase] or ["  (none: no bytes of it are stored)"]
    if report.shared:
        lines.append(f"kept {len(report.shared)} blob(s) other records share (only this snapshot's reference is dropped):")
        lines += [f"{_blob_line(b)}  shared with {', '.join(b.shared_with)}" for b in report.shared]
    if report.dependents:
        lines.append("models built from it (from now on they report not-reproducible: input purged):")
        lines += [f"  {d['ref']}" + (f"  [{', '.join(d['aliases'])}]" if d["aliases"] else "") for d in report.dependents]
    if report.derived:
        lines.append("snapshots derived from it keep their own bytes (purge them too if the request covers them):")
        lines += [f"  {ref}" for ref in report.derived]
    if report.source_exists:
        lines.append(f"the original source {report.source} still exists: delete it too if the request covers it")
    lines.append("kept: the snapshot record, its hashes, lineage edges and audit trail")
    return lines


def _blob_line(blob: PurgeBlob) -> str:
    what = f"member {blob.path}" if blob.role == "member" else blob.role
    return f"  {short_hash(blob.sha256)}  {what}  {human_size(blob.size_bytes)}"
