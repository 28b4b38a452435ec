"""The report as Markdown, with the signed JSON in a fenced block at the end (read back by verify)."""

from __future__ import annotations

import html
import json
from typing import Any

from lineage.reports.render_html import purged_text

JSON_FENCE = "```json lineage-report"


def md_text(value: Any) -> str:
    """User text safe in a Markdown table cell: HTML escaped, pipes and newlines neutralised."""
    text = "" if value is None else str(value)
    return html.escape(text).replace("|", "\\|").replace("\r", " ").replace("\n", " ").replace("`", "\\`")


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(md_text(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _code(value: Any) -> str:
    return f"`{md_text(value)}`" if value not in (None, "") else "-"


def render_md(report: dict[str, Any]) -> str:
    model, link = report["model"], report["linkage_record"]
    out = [f"# Reproducibility report: {md_text(model['ref'])}", "",
           f"Generated {md_text(report['generated_at'])} by {md_text(report['generated_by'])}. "
           f"Audit head hash at the time of the report: {_code(report['audit']['head_hash'])} "
           f"({report['audit']['events']} events, chain {'intact' if report['audit']['chain_ok'] else 'BROKEN'}).", ""]
    if model.get("note"):
        out += [f"Note: {md_text(model['note'])}", ""]
    out += ["## Linkage record", "", *_table(["key", "value"], [[k, v] for k, v in link.items()])]
    out += ["## Trace", "", *_table(
        ["depth", "kind", "ref", "sha256", "stage", "note", "purged"],
        [[n["depth"], n["kind"], n["ref"], n["sha256"], n["stage"] or "", n["note"], purged_text(n.get("purged"))]
         for n in report["trace"]["nodes"]])]
    out += ["### Check the stored files with coreutils", "", "```sh"]
    for node in report["trace"]["nodes"]:
        out += [f"# {node['ref']}".replace("\n", " "), *node["check_commands"]]
    out += ["```", ""]
    out += ["### Edges", "", *_table(["from", "to", "relation", "transform"],
                                     [[e["from"], e["to"], e["relation"], e["transform"]] for e in report["trace"]["edges"]])]
    fs = report["feature_set"]
    out += ["## Feature set", ""]
    if fs is None:
        out += ["No feature-set version recorded.", ""]
    else:
        out += [f"{md_text(fs['ref'])}, set hash {_code(fs['set_hash'])}, module {_code(fs['module'])}, "
                f"commit {_code(fs['git_commit'])}{' (dirty)' if fs['git_dirty'] else ''}", "",
                *_table(["feature", "dtype", "code hash"], [[f["name"], f["dtype"], f["code_hash"]] for f in fs["features"]]),
                "Schema:", "", "```json", json.dumps(fs["schema"], indent=2, sort_keys=True), "```", ""]
    code = report["code"]
    out += ["## Code, seed and params", "", *_table(["key", "value"], [
        ["git commit", code["git_commit"]], ["git dirty", code["git_dirty"]], ["entrypoint", code["entrypoint"]],
        ["workdir", code["workdir"]], ["seed", report["seed"]]]),
        "Params:", "", "```json", json.dumps(report["params"], indent=2, sort_keys=True), "```", ""]
    env = report["environment"] or {}
    packages = env.get("packages", {}) if isinstance(env, dict) else {}
    out += ["## Environment", "", *_table(["key", "value"], [[k, v] for k, v in sorted(env.items()) if k != "packages"]),
            *_table(["package", "version"], [[k, v] for k, v in sorted(packages.items())])]
    rep = report["reproduce"]
    out += ["## Reproduce verdict", ""]
    out += [f"**not-reproducible: input purged**: {md_text(p['ref'])} ({md_text(p['stage'])}) {md_text(purged_text(p))}"
            for p in report.get("purged_inputs") or []] + ([""] if report.get("purged_inputs") else [])
    out += ["Never reproduced: run `lineage reproduce " + md_text(model["ref"]) + "`.", ""] if rep is None else [
        f"**{md_text(rep['verdict'])}** at {md_text(rep['at'])} by {md_text(rep['actor'])}"
        + (f"; first divergence: {md_text(rep['first_divergence'])}" if rep.get("first_divergence") else ""), ""]
    drift = report["drift"]
    out += ["## Drift of the latest serving data", ""]
    if drift is None:
        out += ["No drift report against this model's inputs.", ""]
    else:
        out += [f"{md_text(drift['current'])} vs {md_text(drift['reference'])} (report {drift['report_id']}, "
                f"{md_text(drift['created_at'])}): **{'drifted' if drift['drifted'] else 'no drift'}**, "
                f"share {drift['share']:.3f}", "",
                *_table(["feature", "test", "statistic", "threshold", "psi", "drifted"],
                        [[f["name"], f["test"], _num(f["statistic"]), _num(f["threshold"]), _num(f["psi"]),
                          "yes" if f["drifted"] else "no"] for f in drift["features"]])]
    aliases = report["aliases"]
    out += ["## Alias history", "",
            *_table(["alias", "holder", "since"], [[a, h["version"], h["since"]] for a, h in aliases["current"].items()]),
            *_table(["at", "alias", "version", "action", "actor", "reason"],
                    [[m["at"], m["alias"], m["version"], m["action"], m["actor"], m["reason"]] for m in aliases["history"]])]
    out += ["## Signature", ""]
    sig = report.get("signature")
    out += ["UNSIGNED: create a key with `lineage keys init` and make the report again.", ""] if sig is None else [
        f"Ed25519, public key fingerprint {_code(sig['public_key_fingerprint'])}. "
        "Check with `lineage report verify FILE`.", ""]
    out += ["## Signed report data", "", JSON_FENCE, json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False),
            "```", ""]
    return "\n".join(out)


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


def extract_md(text: str) -> str | None:
    """The embedded JSON text, or None when the file has no report block."""
    start = text.rfind(JSON_FENCE + "\n")
    if start < 0:
        return None
    body = text[start + len(JSON_FENCE) + 1:]
    end = body.rfind("\n```")
    return body[:end] if end >= 0 else None
