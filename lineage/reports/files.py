"""Report files: render a report in a format, and verify any report file.

Verification reads the embedded JSON back, checks its signature, then renders that JSON
again in the file's format and compares bytes: so an edit anywhere (the visible text as
well as the data) is caught, not only an edit of the embedded JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage.errors import LineageError
from lineage.reports.signing import CONTENT_MISMATCH, SignatureCheck, check_signature, embedded_fingerprint

FORMATS = ("json", "md", "html", "pdf")


class UnreadableReportError(Exception):
    """The file cannot be read or holds no Lineage report (exit 2, not a failed check)."""


class NoTrustedKeyError(LineageError):
    """A signed report cannot be checked: the verifier holds no key it trusts (exit 2, not a verdict)."""


def render(report: dict[str, Any], fmt: str) -> bytes:
    """The bytes of the report in ``fmt`` (json, md, html or pdf)."""
    if fmt == "json":
        return (json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    if fmt == "md":
        from lineage.reports.render_md import render_md

        return render_md(report).encode("utf-8")
    if fmt == "html":
        from lineage.reports.render_html import render_html

        return render_html(report).encode("utf-8")
    if fmt == "pdf":
        from lineage.reports.render_pdf import render_pdf

        return render_pdf(report)
    raise ValueError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")


@dataclass(frozen=True)
class ReportCheck:
    path: str
    format: str
    ok: bool
    problem: str | None
    model: str | None
    signature: SignatureCheck | None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "ok": self.ok, "problem": self.problem, "model": self.model,
                "signature": self.signature.to_json() if self.signature else None}


def read_embedded(data: bytes) -> tuple[str, str | None]:
    """(format, embedded JSON text); the text is None when the file is not a Lineage report."""
    if data.startswith(b"%PDF-"):
        from lineage.reports.render_pdf import extract_pdf

        return "pdf", extract_pdf(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown", None
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return "json", text
    if stripped.lower().startswith("<!doctype html") or stripped.lower().startswith("<html"):
        from lineage.reports.render_html import extract_html

        return "html", extract_html(text)
    from lineage.reports.render_md import extract_md

    return "md", extract_md(text)


def verify_report_file(path: str | Path, trusted_key: Any | None, trusted: str = "given key") -> ReportCheck:
    """Check a report file against ``trusted_key``.

    Raises UnreadableReportError when it is not a readable report, and NoTrustedKeyError when
    it is signed but ``trusted_key`` is None: its embedded key proves nothing about who signed.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UnreadableReportError(f"cannot read {path}: {exc.strerror or exc}") from exc
    fmt, text = read_embedded(data)
    if text is None:
        raise UnreadableReportError(f"{path} holds no Lineage report ({fmt}): give a file written by `lineage report`")
    try:
        report = json.loads(text)
        if not isinstance(report, dict) or "report_format" not in report:
            raise ValueError("not a report object")
    except ValueError:
        if fmt == "json":
            raise UnreadableReportError(f"{path} is not a Lineage report: its JSON does not parse") from None
        return ReportCheck(str(path), fmt, False, f"{CONTENT_MISMATCH}: the embedded report data is corrupt",
                           None, None)
    model = report.get("model", {}).get("ref") if isinstance(report.get("model"), dict) else None
    if trusted_key is None:
        if isinstance(report.get("signature"), dict):
            raise NoTrustedKeyError(_no_trusted_key(path, report))
        return ReportCheck(str(path), fmt, False, "the report is not signed: make it again after `lineage keys init`",
                           model, None)
    check = check_signature(report, trusted_key, trusted)
    if not check.ok:
        return ReportCheck(str(path), fmt, False, check.problem, model, check)
    try:
        again = render(report, fmt)
    except Exception:  # noqa: BLE001 - a signed-but-unrenderable body is still an edited file
        again = b""
    if again != data:
        return ReportCheck(str(path), fmt, False, f"{CONTENT_MISMATCH}: the {fmt} text differs from the signed report",
                           model, check)
    return ReportCheck(str(path), fmt, True, None, model, check)


def _no_trusted_key(path: str | Path, report: dict[str, Any]) -> str:
    block = report["signature"]
    named = embedded_fingerprint(report) or block.get("public_key_fingerprint") or "an unreadable key"
    return (f"no trusted key to verify {path} (it carries key {named}, which proves nothing by itself): "
            "run where LINEAGE_HOME is the store that signed it, or pass --key FILE with the signer's public key "
            "after comparing that fingerprint with the signer's out of band")
