"""`lineage report MODEL@V ...`, `lineage report verify FILE` and `lineage keys init`.

`report` is a group whose default command makes a report: when the first argument is not
a subcommand name (`verify`), it is the MODEL@V of the report to make.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from lineage.cli import _check_output_file, _fail, _open_store, _print_json, handles_errors


class DefaultCommandGroup(click.Group):
    """A group that hands any first argument that is not a subcommand to ``default_command``."""

    def __init__(self, *args: Any, default_command: click.Command, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_command = default_command

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands:
            return self.default_command.name, self.default_command, args
        return super().resolve_command(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "MODEL@V --format json|md|html|pdf -o FILE [--unsigned]\n"
                              f"       {ctx.command_path} verify FILE [--key PUB] [--json]")


@click.command("make")
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(["json", "md", "html", "pdf"]), default="json", show_default=True)
@click.option("-o", "--output", "output", required=True, help="File to write (`-` for stdout, text formats only).")
@click.option("--unsigned", is_flag=True, help="Do not sign, even when a key exists.")
@handles_errors
def report_make(ref: str, fmt: str, output: str, unsigned: bool) -> None:
    """Write the reproducibility report of MODEL@V (or MODEL@ALIAS)."""
    from lineage.reports import build_report, render
    from lineage.reports.signing import key_paths, load_private_key, sign

    if output == "-":
        if fmt == "pdf":
            _fail("a PDF report needs a file: give -o FILE.pdf")
    else:
        _check_output_file(output)
    store = _open_store()
    report = build_report(store, ref)
    private_path, _ = key_paths(store.home)
    signed_with = None
    if not unsigned and private_path.exists():
        report = sign(report, load_private_key(private_path))
        signed_with = report["signature"]["public_key_fingerprint"]
    data = render(report, fmt)
    if output == "-":
        click.echo(data.decode("utf-8"), nl=False)
    else:
        _write_report(Path(output), data)
    where = "stdout" if output == "-" else output
    if signed_with:
        click.echo(f"wrote {fmt} report of {report['model']['ref']} to {where}, signed (key {signed_with})", err=True)
    else:
        why = "--unsigned" if unsigned else f"no key at {private_path}: run `lineage keys init`"
        click.echo(f"wrote {fmt} report of {report['model']['ref']} to {where}, UNSIGNED ({why})", err=True)


def _write_report(target: Path, data: bytes) -> None:
    """Write the report where ``-o`` points, never leaving half a report behind.

    A file goes through a temp file renamed into place (next to a symlink's target, so the
    link keeps pointing at the fresh report); a pipe or device (``-o >(wc -c)``,
    ``-o /dev/stdout``) is written straight into: renaming over it would not feed it.
    """
    from lineage.errors import InvalidInputError
    from lineage.user_paths import output_destination

    destination, in_place = output_destination(target)
    temp = destination.with_name(f".{destination.name}.tmp")
    try:
        if in_place:
            with open(destination, "wb") as handle:
                handle.write(data)
            return
        temp.write_bytes(data)
        temp.replace(destination)
    except OSError as exc:
        if not in_place:
            temp.unlink(missing_ok=True)
        raise InvalidInputError(f"cannot write {target}: {exc.strerror or exc}: give a path you may write to") from None


report = DefaultCommandGroup("report", default_command=report_make,
                             help="Make a reproducibility report (MODEL@V --format ... -o FILE) or verify one.")


@report.command("verify")
@click.argument("file")
@click.option("--key", "key_path", default=None, help="Public key (PEM) to trust; default the store's key.")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def report_verify(file: str, key_path: str | None, as_json: bool) -> None:
    """Check a report's signature and content; exit 1 on any edit, 2 when FILE is not a report."""
    from lineage.config import Settings
    from lineage.errors import InvalidInputError
    from lineage.reports.files import UnreadableReportError, verify_report_file
    from lineage.reports.signing import key_paths, load_public_key

    if key_path is not None:
        if not key_path.strip():
            raise InvalidInputError("--key is empty: give the signer's public key file (PEM), "
                                    "e.g. <LINEAGE_HOME>/keys/report_ed25519.pub")
        trusted_key, trusted = load_public_key(Path(key_path)), "given key"
    else:  # the store's key; never the report's own, which anyone can re-sign with
        _, public_path = key_paths(Settings().home)
        trusted_key, trusted = (load_public_key(public_path), "store key") if public_path.is_file() else (None, "")
    try:
        result = verify_report_file(file, trusted_key, trusted)
    except UnreadableReportError as exc:
        _fail(str(exc))
        return
    if as_json:
        _print_json(result.to_json())
    elif result.ok:
        sig = result.signature
        click.echo(f"OK: {file} ({result.format}) is the report of {result.model}, signed by "
                   f"{sig.fingerprint if sig else '?'} ({sig.trusted if sig else ''})")
    else:
        click.echo(f"FAILED: {file} ({result.format}): {result.problem}")
    if not result.ok:
        sys.exit(1)


@click.group()
def keys() -> None:
    """Manage the key pair that signs reports."""


@keys.command("init")
@click.option("--force", is_flag=True, help="Replace an existing key pair.")
@handles_errors
def keys_init(force: bool) -> None:
    """Create an Ed25519 key pair in <LINEAGE_HOME>/keys (private key mode 0600)."""
    from lineage.config import Settings
    from lineage.reports.signing import init_keys

    settings = Settings()
    path, fingerprint = init_keys(settings.home, force=force, read_only=settings.read_only)
    click.echo(f"wrote {path} (mode 0600) and {path}.pub, fingerprint {fingerprint}")
