"""`lineage model …`: register model versions, list and show them, move aliases (a thin layer over store.models)."""

from __future__ import annotations

import json

import click

from lineage.cli import _open_store, _parse_time, _print_json, _print_table, _progress, handles_errors


@click.group()
def model() -> None:
    """Register model versions linked to their data and features; promote and roll back aliases."""


def _json_option(text: str | None, option: str) -> dict | None:
    from lineage.errors import InvalidInputError

    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{option} is not valid JSON ({exc.msg} at column {exc.colno}): e.g. '{{\"C\": 1.0}}'") from None
    if not isinstance(value, dict):
        raise InvalidInputError(f"{option} must be a JSON object, e.g. '{{\"C\": 1.0}}'")
    return value


@model.command("register")
@click.argument("ref", metavar="MODEL@V")
@click.option("--artifact", required=True, help="The trained model file or folder (stored, never loaded).")
@click.option("--snapshot", "snapshots", multiple=True, metavar="REF[:ROLE]",
              help="An input snapshot with its role: train, validation, test or features (repeatable).")
@click.option("--feature-set", "feature_set", default=None, metavar="NAME@V", help="The feature-set version it consumes.")
@click.option("--seed", type=int, default=None, help="The random seed of the training run (0 to 4294967295).")
@click.option("--params", default=None, help="Training parameters as a JSON object.")
@click.option("--metrics", default=None, help="Evaluation metrics as a JSON object.")
@click.option("--entrypoint", default="", help="The command that trained it (for reproduce --rerun).")
@click.option("--note", default="")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def model_register(ref: str, artifact: str, snapshots: tuple[str, ...], feature_set: str | None, seed: int | None,
                   params: str | None, metrics: str | None, entrypoint: str, note: str, as_json: bool) -> None:
    """Register MODEL@V with its artifact, inputs, feature-set version, seed, params and metrics."""
    from pathlib import Path

    from lineage.gitinfo import git_state
    from lineage.user_paths import given_path

    given_path(artifact, what="--artifact", fix="give the trained model's file or folder")
    params_doc, metrics_doc = _json_option(params, "--params"), _json_option(metrics, "--metrics")
    state = git_state(Path.cwd())
    code = {"git_commit": state.commit, "git_dirty": state.dirty, "entrypoint": entrypoint,
            "workdir": state.root or str(Path.cwd())}
    info = _open_store().models.register(
        ref, artifact=artifact, inputs=snapshots, feature_set=feature_set, seed=seed, params=params_doc,
        metrics=metrics_doc, code=code, note=note, progress=_progress(as_json),
    )
    if as_json:
        _print_json(info.to_json())
        return
    verb = "registered" if info.created else "already registered as"
    click.echo(f"{verb} {info.ref}  artifact sha256 {info.artifact['sha256']}  "
               f"{len(info.inputs)} inputs  features {info.feature_set or '-'}")


@model.command("list")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def model_list(name: str | None, as_json: bool) -> None:
    """List model versions (of NAME, or all)."""
    infos = _open_store().models.list(name)
    if as_json:
        _print_json([i.to_json() for i in infos])
        return
    _print_table(["REF", "FEATURE_SET", "SEED", "METRICS", "ALIASES", "ARTIFACT", "CREATED_AT"],
                 [[i.ref, i.feature_set or "-", "-" if i.seed is None else i.seed,
                   ", ".join(f"{k}={v}" for k, v in sorted(i.metrics.items())) or "-", ", ".join(i.aliases) or "-",
                   i.artifact["sha256"][:12], i.created_at.strftime("%Y-%m-%d %H:%M:%SZ")] for i in infos])


@model.command("show")
@click.argument("ref", metavar="MODEL[@V]")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def model_show(ref: str, as_json: bool) -> None:
    """Show one model version (MODEL@V, MODEL@ALIAS, or MODEL for its highest version)."""
    info = _open_store().models.get(ref)
    if as_json:
        _print_json(info.to_json())
        return
    for key, value in info.linkage_record().items():
        click.echo(f"{key:<20} {value}")
    rows = [("artifact", f"{info.artifact['name']} sha256 {info.artifact['sha256']} ({info.artifact['size_bytes']} bytes)"),
            ("seed", info.seed), ("params", json.dumps(info.params, sort_keys=True)),
            ("metrics", json.dumps(info.metrics, sort_keys=True)),
            ("git", (info.code.get("git_commit") or "-") + (" (dirty)" if info.code.get("git_dirty") else "")),
            ("entrypoint", info.code.get("entrypoint") or "-"),
            ("python", info.environment.get("python", "-")),
            ("packages", len(info.environment.get("packages", {}))),
            ("aliases", ", ".join(info.aliases) or "-"),
            ("created", f"{info.created_at.isoformat()} by {info.created_by}")]
    for key, value in rows:
        click.echo(f"{key:<20} {value}")
    _print_table(["INPUT", "ROLE", "STAGE", "SHA256"], [[i.ref, i.role, i.stage, i.sha256] for i in info.inputs])


@model.command("promote")
@click.argument("ref", metavar="MODEL@V")
@click.option("--alias", required=True, help="e.g. production or staging (never a version number such as 1.2.0)")
@click.option("--reason", required=True, help="Why this version (kept in the audit log).")
@handles_errors
def model_promote(ref: str, alias: str, reason: str) -> None:
    """Point ALIAS at MODEL@V."""
    move = _open_store().models.promote(ref, alias=alias, reason=reason)
    previous = f" (was {move.previous})" if move.previous else ""  # read under the write lock, with the move
    click.echo(f"{move.model}@{move.alias} -> {move.version}{previous}")


@model.command("rollback")
@click.argument("name", metavar="MODEL")
@click.option("--alias", required=True)
@click.option("--to", "to", default=None, metavar="V", help="Roll back to this version (default: the previous holder).")
@click.option("--reason", required=True, help="Why (kept in the audit log).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def model_rollback(name: str, alias: str, to: str | None, reason: str, as_json: bool) -> None:
    """Move ALIAS back to the version that held it before (or --to V)."""
    result = _open_store().models.rollback(name, alias=alias, reason=reason, to=to)
    if as_json:
        _print_json({"model": name, "alias": alias, "from": result["from_version"], "to": result["to_version"],
                     "feature_set_switch": result["feature_set_switch"], "move": result["move"].to_json()})
        return
    click.echo(f"{name}@{alias}: {result['from_version']} -> {result['to_version']}")
    switch = result["feature_set_switch"]
    if switch:
        click.echo(f"serving must switch feature set: {switch['from']} -> {switch['to']}")


@model.command("aliases")
@click.argument("name", metavar="MODEL")
@click.option("--as-of", "as_of", default=None, help="Answer as of this UTC time.")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def model_aliases(name: str, as_of: str | None, as_json: bool) -> None:
    """Current holder of each alias and the full history (as of a past time with --as-of)."""
    from lineage.audit import format_time

    result = _open_store().models.aliases(name, as_of=_parse_time(as_of, "--as-of"))
    current = {alias: {**held, "since": format_time(held["since"])} for alias, held in result["current"].items()}
    if as_json:
        _print_json({"model": name, "as_of": format_time(result["as_of"]) if result["as_of"] else None,
                     "current": current, "history": [m.to_json() for m in result["history"]]})
        return
    _print_table(["ALIAS", "VERSION", "SINCE", "BY"],
                 [[a, h["version"], h["since"], h["by"]] for a, h in sorted(current.items())])
    click.echo("history")
    _print_table(["AT", "ALIAS", "ACTION", "VERSION", "ACTOR", "REASON"],
                 [[m.at.strftime("%Y-%m-%d %H:%M:%SZ"), m.alias, m.action, m.version, m.actor, m.reason]
                  for m in result["history"]])


@model.command("stale")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def model_stale(as_json: bool) -> None:
    """Model versions whose feature code changed since training, whose training data changed on disk, or whose data was purged."""
    warnings = _open_store().models.staleness()
    if as_json:
        _print_json(warnings)
        return
    if not warnings:
        click.echo("no stale models")
    for warning in warnings:
        click.echo(f"{warning['model']}: {warning['detail']}")
