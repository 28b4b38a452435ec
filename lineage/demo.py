"""`lineage demo`: load the shipped sample data so a newcomer sees a populated store.

Idempotent by construction: registering the same bytes under the same name
returns the existing snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lineage.entities import SnapshotInfo
from lineage.errors import NotFoundError
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


def sample_data_dir() -> Path:
    """The sample_data folder of the checkout (next to the package) or of the working directory."""
    for candidate in (Path(__file__).resolve().parent.parent / "sample_data", Path.cwd() / "sample_data"):
        if (candidate / DEMO_SNAPSHOTS[0].file).is_file():
            return candidate
    raise NotFoundError("sample_data/ was not found: run `lineage demo` from the project checkout")


def load_demo(store: Store, *, progress: Progress = NO_PROGRESS) -> list[SnapshotInfo]:
    """Register every sample snapshot (and, as later parts land, features and models)."""
    folder = sample_data_dir()
    loaded = []
    for item in DEMO_SNAPSHOTS:
        loaded.append(store.snapshots.add(
            folder / item.file, dataset=item.dataset, version=item.version, stage=item.stage,
            parents=item.parents, transform=item.transform, note=item.note, progress=progress,
        ))
    return loaded
