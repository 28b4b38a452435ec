"""`lineage demo`: load the shipped sample data so a newcomer sees a populated store.

Idempotent by construction: registering the same bytes under the same name
returns the existing snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lineage.entities import FeatureSetVersionInfo, ModelVersionInfo, SnapshotInfo
from lineage.errors import LineageError, NotFoundError
from lineage.progress import NO_PROGRESS, Progress
from lineage.store import Store

CLEAN_TRANSFORM = "sample_data/clean.py:clean_customers"


@dataclass(frozen=True)
class DemoSnapshot:
    file: str
    dataset: str
    version: str
    stage: str
    parents: tuple[str, ...] = ()
    transform: str = ""
    note: str = ""


DEMO_SNAPSHOTS: tuple[DemoSnapshot, ...] = (
    DemoSnapshot("customers_raw_2026_02_01.csv", "customers_raw", "2026_02_01", "raw",
                 note="CRM export of 2026-02-01"),
    DemoSnapshot("customers_clean_v1.0.parquet", "customers_clean", "v1.0", "processed",
                 parents=("customers_raw@2026_02_01",), transform=CLEAN_TRANSFORM,
                 note="deduplicated, regions normalised, negative totals dropped"),
    DemoSnapshot("customers_raw_2026_03_01.csv", "customers_raw", "2026_03_01", "raw",
                 note="CRM export of 2026-03-01: some customers changed, some new"),
)


FEATURE_VERSIONS: tuple[tuple[str, str], ...] = (
    ("customer_features_2.0.0.json", "sample_data.features.customer_features_2_0"),
    ("customer_features_2.1.0.json", "sample_data.features.customer_features_2_1"),
)
BREAKING_CANDIDATE = ("customer_features_3.0.0_candidate.json", "sample_data.features.customer_features_3_0_candidate")
FEATURES_SOURCE = "customers_clean@v1.0"


@dataclass(frozen=True)
class DemoResult:
    """What the demo loaded, and the refusal the breaking candidate earns."""

    snapshots: list[SnapshotInfo]
    feature_versions: list[FeatureSetVersionInfo]
    refused_candidate: str
    models: list[ModelVersionInfo] = field(default_factory=list)
    alias_moves: list[str] = field(default_factory=list)


def sample_data_dir() -> Path:
    """The sample_data folder of the checkout (next to the package) or of the working directory."""
    for candidate in (Path(__file__).resolve().parent.parent / "sample_data", Path.cwd() / "sample_data"):
        if (candidate / DEMO_SNAPSHOTS[0].file).is_file():
            return candidate
    raise NotFoundError("sample_data/ was not found: run `lineage demo` from the project checkout")


def load_demo(store: Store, *, progress: Progress = NO_PROGRESS) -> DemoResult:
    """Register the sample snapshots, both feature-set versions and their materialisations.

    Also tries the breaking 3.0.0 candidate as 2.2.0, which must be refused: its
    message is part of the result so the demo shows semver enforcement at work.
    """
    import sys

    from lineage.features.materialize import materialize

    folder = sample_data_dir()
    if str(folder.parent) not in sys.path:  # the feature modules import as sample_data.features.*
        sys.path.insert(0, str(folder.parent))
    snapshots = []
    for item in DEMO_SNAPSHOTS:
        snapshots.append(store.snapshots.add(
            folder / item.file, dataset=item.dataset, version=item.version, stage=item.stage,
            parents=item.parents, transform=item.transform, note=item.note, progress=progress,
        ))
    versions = [store.features.register(folder / "schemas" / schema, module) for schema, module in FEATURE_VERSIONS]
    for version in versions:
        snapshots.append(materialize(store, version.ref, FEATURES_SOURCE, progress=progress))
    schema, module = BREAKING_CANDIDATE
    try:
        store.features.register(folder / "schemas" / schema, module)
    except LineageError as exc:
        refused = str(exc)
    else:  # pragma: no cover - the sample is built to be refused
        raise AssertionError("the breaking sample candidate was accepted")
    models = [_train(store, folder, version, feature_ref, progress) for version, feature_ref in DEMO_MODELS]
    moves = _alias_story(store)
    snapshots.append(store.snapshots.add(folder / ONLINE_LOG, dataset="customer_features_online", version="2026_03",
                                         stage="online", note="features served in March 2026", progress=progress))
    if not store.drift.latest_reports(limit=1):
        store.drift.compare("churn@production", "customer_features_online@2026_03", feature_set="customer_features@2.1.0")
    return DemoResult(snapshots, versions, refused, models, moves)


ONLINE_LOG = "customer_features_online_2026_03.parquet"


DEMO_MODELS: tuple[tuple[str, str], ...] = (("1.1.0", "customer_features@2.0.0"), ("1.2.0", "customer_features@2.1.0"))


def _train(store: Store, folder: Path, version: str, feature_ref: str, progress: Progress) -> ModelVersionInfo:
    """Run sample_data/train.py as its own process, as a user would, so its entrypoint can be re-run."""
    import os
    import subprocess
    import sys

    existing = store.models.find(f"churn@{version}")
    if existing is not None:
        return existing
    settings = store.settings
    env = {**os.environ, "LINEAGE_HOME": str(settings.home), "LINEAGE_DB_URL": settings.resolved_db_url,
           "LINEAGE_STORE_URL": settings.resolved_store_url, "LINEAGE_USER": store.actor, "PYTHONHASHSEED": "2010"}
    progress.start(1, f"training churn@{version}")
    try:
        result = subprocess.run(
            [sys.executable, "sample_data/train.py", "--version", version, "--feature-set", feature_ref],
            cwd=folder.parent, env=env, capture_output=True, text=True, timeout=600, check=False,
        )
    finally:
        progress.finish()
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise LineageError(f"training churn@{version} failed: {last}")
    return store.models.get(f"churn@{version}")


def _alias_story(store: Store) -> list[str]:
    """1.1.0 to production, then 1.2.0, a rollback to 1.1.0, and forward to 1.2.0 again (once)."""
    if store.models.aliases("churn")["history"]:
        return []
    moves = [
        store.models.promote("churn@1.1.0", alias="production", reason="first churn model (features 2.0.0)"),
        store.models.promote("churn@1.2.0", alias="production", reason="adds avg_purchase_value (features 2.1.0)"),
    ]
    rolled = store.models.rollback("churn", alias="production", reason="serving lacked avg_purchase_value; roll back")
    moves.append(rolled["move"])
    moves.append(store.models.promote("churn@1.2.0", alias="production",
                                      reason="feature service now computes customer_features 2.1.0"))
    return [f"churn@{m.alias} -> {m.version} ({m.action}: {m.reason})" for m in moves]
