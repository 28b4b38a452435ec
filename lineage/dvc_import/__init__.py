"""DVC import: register the data a DVC repository tracks as snapshots, checked against DVC's md5.

``import_dvc(store, repo)`` (``lineage import dvc REPO``) reads ``.dvc`` files and
``dvc.lock`` files as plain YAML; the ``dvc`` package is not needed. See
docs/dvc-import.md for what is imported and how it is named.
"""

from lineage.dvc_import.importer import import_dvc
from lineage.dvc_import.result import DvcImportResult, OutResult

__all__ = ["DvcImportResult", "OutResult", "import_dvc"]
