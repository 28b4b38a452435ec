"""The report as PDF (fpdf2, pure Python), with the signed JSON embedded for ``report verify``.

The JSON travels base64-encoded inside the document's XMP metadata packet (an uncompressed
stream), so verify reads it back without a PDF parser. The creation date is the report's
own time, so the same report always renders to the same bytes.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any

from lineage.reports.render_html import purged_text

_MARK = "lineage-report-base64"
_XMP = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:lineage="https://lineage.invalid/ns/report/1/">'
        "<lineage:report>{mark}:{data}:end</lineage:report></rdf:Description></rdf:RDF></x:xmpmeta>")


def _latin(value: Any) -> str:
    """Core PDF fonts are Latin-1: other characters become '?' (the embedded JSON keeps them exactly)."""
    return ("" if value is None else str(value)).encode("latin-1", "replace").decode("latin-1")


def render_pdf(report: dict[str, Any]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime.fromisoformat(report["generated_at"].replace("Z", "+00:00")))
    pdf.set_title(_latin(f"Reproducibility report {report['model']['ref']}"))
    pdf.set_creator("lineage")
    pdf.set_xmp_metadata(_XMP.format(mark=_MARK, data=base64.b64encode(
        json.dumps(report, sort_keys=True, ensure_ascii=False).encode("utf-8")).decode("ascii")))
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    width = pdf.epw

    def heading(text: str, size: int = 13) -> None:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", size)
        pdf.multi_cell(width, 7, _latin(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)

    def line(text: Any, mono: bool = False) -> None:
        pdf.set_font("Courier" if mono else "Helvetica", "", 7.5 if mono else 9)
        pdf.multi_cell(width, 4.2, _latin(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)

    model, audit = report["model"], report["audit"]
    heading(f"Reproducibility report: {model['ref']}", 16)
    line(f"Generated {report['generated_at']} by {report['generated_by']}")
    line(f"Audit head hash at the time of the report ({audit['events']} events, "
         f"chain {'intact' if audit['chain_ok'] else 'BROKEN'}):")
    line(audit["head_hash"], mono=True)
    if model.get("note"):
        line(f"Note: {model['note']}")
    heading("Linkage record")
    for key, value in report["linkage_record"].items():
        line(f"{key}: {value}", mono=True)
    heading("Trace")
    for node in report["trace"]["nodes"]:
        line(f"{'  ' * node['depth']}{node['kind']} {node['ref']}" + (f" ({node['stage']})" if node["stage"] else ""))
        line(f"{'  ' * node['depth']}sha256 {node['sha256']}", mono=True)
        if node.get("purged"):
            line(f"{'  ' * node['depth']}{purged_text(node['purged'])}")
        for command in node["check_commands"]:
            line(command, mono=True)
    fs = report["feature_set"]
    heading("Feature set")
    if fs is None:
        line("No feature-set version recorded.")
    else:
        line(f"{fs['ref']}  module {fs['module']}  commit {fs['git_commit']}{' (dirty)' if fs['git_dirty'] else ''}")
        line(f"set hash {fs['set_hash']}", mono=True)
        for feature in fs["features"]:
            line(f"{feature['name']} ({feature['dtype']}): {feature['code_hash']}", mono=True)
    code = report["code"]
    heading("Code, seed and params")
    line(f"git commit {code['git_commit']}{' (dirty)' if code['git_dirty'] else ''}", mono=True)
    line(f"entrypoint: {code['entrypoint']}")
    line(f"seed: {report['seed']}")
    line(f"params: {json.dumps(report['params'], sort_keys=True)}", mono=True)
    heading("Environment")
    env = report["environment"] or {}
    for key, value in sorted(env.items()):
        if key == "packages":
            line("packages: " + ", ".join(f"{k}=={v}" for k, v in sorted(value.items())))
        else:
            line(f"{key}: {value}")
    heading("Reproduce verdict")
    for item in report.get("purged_inputs") or []:
        line(f"not-reproducible: input purged: {item['ref']} ({item['stage']}) {purged_text(item)}")
    rep = report["reproduce"]
    line(f"Never reproduced: run `lineage reproduce {model['ref']}`." if rep is None else
         f"{rep['verdict']} at {rep['at']} by {rep['actor']}"
         + (f"; first divergence: {rep['first_divergence']}" if rep.get("first_divergence") else ""))
    heading("Drift of the latest serving data")
    drift = report["drift"]
    if drift is None:
        line("No drift report against this model's inputs.")
    else:
        line(f"{drift['current']} vs {drift['reference']} (report {drift['report_id']}, {drift['created_at']}): "
             f"{'drifted' if drift['drifted'] else 'no drift'}, share {float(drift['share']):.3f}")
        for feature in drift["features"]:
            stat = "-" if feature["statistic"] is None else f"{feature['statistic']:.4g}"
            line(f"  {feature['name']}: {feature['test']} {stat} "
                 f"(threshold {feature['threshold']}) {'DRIFTED' if feature['drifted'] else 'ok'}")
    heading("Alias history")
    for move in report["aliases"]["history"]:
        line(f"{move['at']}  {move['alias']} -> {move['version']} ({move['action']} by {move['actor']}): {move['reason']}")
    heading("Signature")
    sig = report.get("signature")
    line("UNSIGNED: create a key with `lineage keys init` and make the report again." if sig is None else
         f"Ed25519, public key fingerprint {sig['public_key_fingerprint']}; check with `lineage report verify FILE`.")
    return bytes(pdf.output())


_FOUND = re.compile(_MARK.encode() + rb":([A-Za-z0-9+/=\s]*):end")


def extract_pdf(data: bytes) -> str | None:
    found = _FOUND.search(data)
    if not found:
        return None
    try:
        return base64.b64decode(b"".join(found.group(1).split()), validate=True).decode("utf-8")
    except ValueError:
        return ""  # present but corrupt: verify reports a content mismatch
