"""Reproducibility reports for a model version: build (data), render (JSON, Markdown, HTML, PDF), sign, verify.

``build_report`` gathers everything from the library into one JSON-native dict with stable
keys; the renderers are pure functions of that dict, and every format embeds the dict
(with its signature) so ``verify_report_file`` can re-check any of them.
"""

from lineage.reports.build import REPORT_FORMAT, build_report
from lineage.reports.files import FORMATS, render, verify_report_file

__all__ = ["FORMATS", "REPORT_FORMAT", "build_report", "render", "verify_report_file"]
