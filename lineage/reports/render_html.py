"""The report as one self-contained HTML file: inline CSS, an inline SVG chart, no scripts run.

Every user-provided string goes through ``html.escape``; the signed JSON sits in a
``<script type="application/json">`` block (not executed) with ``<``, ``>`` and ``&``
written as JSON unicode escapes, so no text can close the block.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

DATA_ID = "lineage-report"
_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.2em}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;
vertical-align:top}th{background:#f2f2f2}code,pre{font-family:ui-monospace,monospace;font-size:.9em}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto}.bad{color:#b00020;font-weight:bold}.ok{color:#1b7f3b;font-weight:bold}
.hash{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}"""


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _table(headers: list[str], rows: list[list[Any]], hash_cols: tuple[int, ...] = ()) -> str:
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(
        f'<td class="hash">{e(c)}</td>' if i in hash_cols else f"<td>{e(c)}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def drift_chart(features: list[dict[str, Any]]) -> str:
    """Horizontal bars of each feature's test statistic against its threshold (inline SVG)."""
    if not features:
        return ""
    width, bar_h, label_w = 560, 22, 170
    values = [float(f["statistic"] or 0.0) for f in features]
    top = max([*values, *(float(f["threshold"] or 0.0) for f in features), 1e-9])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{bar_h * len(features) + 10}" '
             'role="img" aria-label="drift statistic per feature">']
    for i, (feature, value) in enumerate(zip(features, values, strict=True)):
        y = 5 + i * bar_h
        length = (width - label_w - 60) * value / top
        colour = "#c62828" if feature["drifted"] else "#2e7d32"
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{e(feature["name"])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{bar_h - 8}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + length + 4:.1f}" y="{y + 15}" font-size="11">{value:.3g}</text>')
        if feature["threshold"] is not None:
            x = label_w + (width - label_w - 60) * float(feature["threshold"]) / top
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + bar_h}" stroke="#333" '
                         'stroke-dasharray="3,2"/>')
    parts.append("</svg>")
    return "".join(parts)


def purged_text(purged: dict[str, Any] | None) -> str:
    """``bytes purged on AT by WHO: REASON`` for a tombstone, "" for none (shared by the renderers)."""
    return f"bytes purged on {purged['at']} by {purged['by']}: {purged['reason']}" if purged else ""


def embedded_json(report: dict[str, Any]) -> str:
    text = json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_html(report: dict[str, Any]) -> str:
    model, audit = report["model"], report["audit"]
    s: list[str] = [f"<h1>Reproducibility report: {e(model['ref'])}</h1>",
                    f"<p>Generated {e(report['generated_at'])} by {e(report['generated_by'])}. Audit head hash at the "
                    f'time of the report: <span class="hash">{e(audit["head_hash"])}</span> ({e(audit["events"])} events, '
                    f"chain {'intact' if audit['chain_ok'] else 'BROKEN'}).</p>"]
    if model.get("note"):
        s.append(f"<p>Note: {e(model['note'])}</p>")
    s += ["<h2>Linkage record</h2>", _table(["key", "value"], [[k, v] for k, v in report["linkage_record"].items()])]
    nodes = report["trace"]["nodes"]
    s += ["<h2>Trace</h2>", _table(["depth", "kind", "ref", "sha256", "stage", "note", "purged"],
                                   [[n["depth"], n["kind"], n["ref"], n["sha256"], n["stage"] or "", n["note"],
                                     purged_text(n.get("purged"))] for n in nodes], hash_cols=(3,)),
          "<h3>Check the stored files with coreutils</h3>",
          "<pre>" + "\n".join(e(f"# {n['ref']}\n" + "\n".join(n["check_commands"])) for n in nodes) + "</pre>",
          "<h3>Edges</h3>", _table(["from", "to", "relation", "transform"],
                                   [[x["from"], x["to"], x["relation"], x["transform"]] for x in report["trace"]["edges"]])]
    fs = report["feature_set"]
    s.append("<h2>Feature set</h2>")
    if fs is None:
        s.append("<p>No feature-set version recorded.</p>")
    else:
        s += [f'<p>{e(fs["ref"])}, set hash <span class="hash">{e(fs["set_hash"])}</span>, module {e(fs["module"])}, '
              f"commit {e(fs['git_commit'])}{' (dirty)' if fs['git_dirty'] else ''}</p>",
              _table(["feature", "dtype", "code hash"], [[f["name"], f["dtype"], f["code_hash"]] for f in fs["features"]],
                     hash_cols=(2,)),
              f"<details><summary>Schema</summary><pre>{e(json.dumps(fs['schema'], indent=2, sort_keys=True))}</pre></details>"]
    code = report["code"]
    s += ["<h2>Code, seed and params</h2>", _table(["key", "value"], [
        ["git commit", code["git_commit"]], ["git dirty", code["git_dirty"]], ["entrypoint", code["entrypoint"]],
        ["workdir", code["workdir"]], ["seed", report["seed"]]]),
        f"<pre>{e(json.dumps(report['params'], indent=2, sort_keys=True))}</pre>"]
    env = report["environment"] or {}
    packages = env.get("packages", {}) if isinstance(env, dict) else {}
    s += ["<h2>Environment</h2>", _table(["key", "value"], [[k, v] for k, v in sorted(env.items()) if k != "packages"]),
          "<details><summary>Packages</summary>" + _table(["package", "version"], sorted(
              [[k, v] for k, v in packages.items()])) + "</details>"]
    rep = report["reproduce"]
    s.append("<h2>Reproduce verdict</h2>")
    for item in report.get("purged_inputs") or []:
        s.append(f'<p><span class="bad">not-reproducible: input purged</span>: {e(item["ref"])} ({e(item["stage"])}) '
                 f"{e(purged_text(item))}</p>")
    if rep is None:
        s.append(f"<p>Never reproduced: run <code>lineage reproduce {e(model['ref'])}</code>.</p>")
    else:
        cls = "bad" if rep["verdict"] == "not-reproducible" else "ok"
        s.append(f'<p><span class="{cls}">{e(rep["verdict"])}</span> at {e(rep["at"])} by {e(rep["actor"])}'
                 + (f"; first divergence: {e(rep['first_divergence'])}" if rep.get("first_divergence") else "") + "</p>")
    drift = report["drift"]
    s.append("<h2>Drift of the latest serving data</h2>")
    if drift is None:
        s.append("<p>No drift report against this model's inputs.</p>")
    else:
        cls = "bad" if drift["drifted"] else "ok"
        s += [f"<p>{e(drift['current'])} vs {e(drift['reference'])} (report {e(drift['report_id'])}, "
              f'{e(drift["created_at"])}): <span class="{cls}">{"drifted" if drift["drifted"] else "no drift"}</span>, '
              f"share {float(drift['share']):.3f}</p>", drift_chart(drift["features"]),
              _table(["feature", "test", "statistic", "threshold", "psi", "drifted"],
                     [[f["name"], f["test"], f["statistic"], f["threshold"], f["psi"], "yes" if f["drifted"] else "no"]
                      for f in drift["features"]])]
    aliases = report["aliases"]
    s += ["<h2>Alias history</h2>",
          _table(["alias", "holder", "since"], [[a, h["version"], h["since"]] for a, h in aliases["current"].items()]),
          _table(["at", "alias", "version", "action", "actor", "reason"],
                 [[m["at"], m["alias"], m["version"], m["action"], m["actor"], m["reason"]] for m in aliases["history"]])]
    sig = report.get("signature")
    s.append("<h2>Signature</h2>")
    s.append("<p class=\"bad\">UNSIGNED: create a key with <code>lineage keys init</code> and make the report again.</p>"
             if sig is None else
             f'<p>Ed25519, public key fingerprint <span class="hash">{e(sig["public_key_fingerprint"])}</span>. '
             "Check with <code>lineage report verify FILE</code>.</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Reproducibility report {e(model['ref'])}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(s)
            + f'\n<script type="application/json" id="{DATA_ID}">\n{embedded_json(report)}\n</script>\n</body></html>\n')


_BLOCK = re.compile(r'<script type="application/json" id="' + DATA_ID + r'">\n(.*?)\n</script>', re.S)


def extract_html(text: str) -> str | None:
    found = _BLOCK.search(text)
    return found.group(1) if found else None
