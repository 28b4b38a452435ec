"""Behaviour of the deterministic sample data and of its recorded cleaning transform."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

# Make ``sample_data`` importable however pytest is launched (no conftest needed).
if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sample_data.clean import (
    CLEAN_SCHEMA,
    RAW_COLUMNS,
    clean_customers,
    read_clean_customers,
    read_raw_customers,
)
from sample_data.generate import (
    CLEAN_NAME,
    FEB_RAW_NAME,
    MAR_RAW_NAME,
    MAX_TOTAL_BYTES,
    REGIONS,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO_ROOT / "sample_data"
GENERATED = (FEB_RAW_NAME, CLEAN_NAME, MAR_RAW_NAME)
VALUE_COLUMNS = [c for c in RAW_COLUMNS if c not in ("customer_id", "reference_date")]


@pytest.fixture(scope="module")
def feb_raw() -> pd.DataFrame:
    return read_raw_customers(SAMPLE_DIR / FEB_RAW_NAME)


@pytest.fixture(scope="module")
def mar_raw() -> pd.DataFrame:
    return read_raw_customers(SAMPLE_DIR / MAR_RAW_NAME)


@pytest.fixture(scope="module")
def clean_feb() -> pd.DataFrame:
    return read_clean_customers(SAMPLE_DIR / CLEAN_NAME)


def _raw_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """A tiny raw export; unspecified fields get plausible defaults."""
    defaults: dict[str, object] = {
        "birth_date": "1980-01-01",
        "reference_date": "2026-02-01",
        "region": "north",
        "signup_channel": "web",
        "purchase_total": 10.0,
        "purchase_count": 1,
        "last_purchase_days": 5,
        "churned": 0,
    }
    return pd.DataFrame(
        [{**defaults, **row} for row in rows], columns=list(RAW_COLUMNS)
    )


def _whole_years(birth: pd.Series, reference: pd.Series) -> pd.Series:
    """Age in completed years, the way a person states it."""
    birthday_pending = (reference.dt.month < birth.dt.month) | (
        (reference.dt.month == birth.dt.month) & (reference.dt.day < birth.dt.day)
    )
    return reference.dt.year - birth.dt.year - birthday_pending.astype(int)


@pytest.mark.parametrize(
    "command",
    [["sample_data/generate.py"], ["-m", "sample_data.generate"]],
    ids=["script", "module"],
)
def test_generator_reproduces_committed_files_byte_for_byte(
    tmp_path: Path, command: list[str]
) -> None:
    subprocess.run(
        [sys.executable, *command, "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(GENERATED)
    for name in GENERATED:
        fresh, committed = tmp_path / name, SAMPLE_DIR / name
        assert fresh.read_bytes() == committed.read_bytes(), name


def test_sample_files_are_under_two_megabytes() -> None:
    total = sum((SAMPLE_DIR / name).stat().st_size for name in GENERATED)
    assert total < MAX_TOTAL_BYTES == 2 * 1024 * 1024


def test_raw_exports_share_header_and_have_one_reference_date_each(
    feb_raw: pd.DataFrame, mar_raw: pd.DataFrame
) -> None:
    for name in (FEB_RAW_NAME, MAR_RAW_NAME):
        with (SAMPLE_DIR / name).open(newline="") as f:
            assert f.readline() == ",".join(RAW_COLUMNS) + "\n"
    assert set(feb_raw["reference_date"]) == {"2026-02-01"}
    assert set(mar_raw["reference_date"]) == {"2026-03-01"}
    assert 4_900 <= feb_raw["customer_id"].nunique() <= 5_100


def test_february_export_contains_the_defects_cleaning_must_fix(
    feb_raw: pd.DataFrame,
) -> None:
    region = feb_raw["region"]
    assert 5 <= feb_raw.duplicated().sum() <= 30
    assert 20 <= region.isna().sum() <= 150
    assert 3 <= feb_raw["purchase_total"].lt(0).sum() <= 20
    noisy = region.notna() & ~region.isin(REGIONS)
    assert noisy.sum() >= 20
    assert set(region[noisy].str.strip().str.lower()) <= set(REGIONS)


def test_clean_customers_removes_duplicates_and_negative_totals(
    feb_raw: pd.DataFrame,
) -> None:
    clean = clean_customers(feb_raw)
    assert clean["customer_id"].is_unique
    assert clean["customer_id"].is_monotonic_increasing
    assert clean["purchase_total"].ge(0).all()
    non_negative = feb_raw[feb_raw["purchase_total"].ge(0)]
    assert len(clean) == non_negative["customer_id"].nunique()
    assert clean.index.equals(pd.RangeIndex(len(clean)))


def test_clean_customers_normalises_region_and_labels_missing_unknown() -> None:
    raw = _raw_frame(
        [
            {"customer_id": 3, "region": " North"},
            {"customer_id": 1, "region": "SOUTH "},
            {"customer_id": 2, "region": None},
            {"customer_id": 4, "region": "   "},
        ]
    )
    clean = clean_customers(raw)
    assert clean["customer_id"].tolist() == [1, 2, 3, 4]
    assert clean["region"].tolist() == ["south", "unknown", "north", "unknown"]
    assert clean["region"].cat.categories.tolist() == ["north", "south", "unknown"]


def test_clean_customers_keeps_first_duplicate_and_leaves_input_untouched() -> None:
    raw = _raw_frame(
        [
            {"customer_id": 7, "purchase_total": -12.5},
            {"customer_id": 7, "purchase_total": 12.5, "purchase_count": 2},
            {"customer_id": 7, "purchase_total": 99.0, "purchase_count": 9},
            {"customer_id": 8, "purchase_total": 0.0, "purchase_count": 0},
        ]
    )
    before = raw.copy(deep=True)
    clean = clean_customers(raw)
    pd.testing.assert_frame_equal(raw, before)
    assert clean["customer_id"].tolist() == [7, 8]
    assert clean["purchase_total"].tolist() == [12.5, 0.0]
    assert clean["purchase_count"].tolist() == [2, 0]


def test_clean_parquet_is_clean_customers_of_the_february_export(
    feb_raw: pd.DataFrame, clean_feb: pd.DataFrame
) -> None:
    pd.testing.assert_frame_equal(clean_feb, clean_customers(feb_raw))


def test_clean_parquet_has_documented_dtypes_and_no_version_metadata() -> None:
    schema = pq.read_schema(SAMPLE_DIR / CLEAN_NAME)
    assert schema.equals(CLEAN_SCHEMA, check_metadata=True)
    assert not schema.metadata
    dtypes = read_clean_customers(SAMPLE_DIR / CLEAN_NAME).dtypes.astype(str)
    assert dtypes.to_dict() == {
        "customer_id": "int64",
        "birth_date": "datetime64[ms]",
        "reference_date": "datetime64[ms]",
        "region": "category",
        "signup_channel": "category",
        "purchase_total": "float64",
        "purchase_count": "int64",
        "last_purchase_days": "int64",
        "churned": "int8",
    }


def test_clean_customers_are_adults_up_to_85_with_uneven_regions(
    clean_feb: pd.DataFrame,
) -> None:
    ages = _whole_years(clean_feb["birth_date"], clean_feb["reference_date"])
    assert ages.between(18, 85).all()
    assert 40 <= ages.median() <= 50
    shares = clean_feb["region"].value_counts(normalize=True)
    assert set(shares.index) == {*REGIONS, "unknown"}
    assert shares["north"] > 2 * shares["central"]
    no_purchases = clean_feb["purchase_count"].eq(0)
    assert clean_feb.loc[no_purchases, "purchase_total"].eq(0).all()
    assert clean_feb.loc[~no_purchases, "purchase_total"].gt(0).all()


def test_churn_correlates_with_recency(clean_feb: pd.DataFrame) -> None:
    recency = clean_feb["last_purchase_days"]
    churned = clean_feb["churned"].astype(float)
    assert np.corrcoef(recency, churned)[0, 1] > 0.2
    recent = churned[recency <= recency.quantile(0.25)].mean()
    stale = churned[recency >= recency.quantile(0.75)].mean()
    assert stale > 3 * recent


def test_churn_rate_is_realistic_and_follows_frequency_age_and_channel(
    clean_feb: pd.DataFrame,
) -> None:
    churned = clean_feb["churned"].astype(float)
    assert 0.20 <= churned.mean() <= 0.30
    assert np.corrcoef(clean_feb["purchase_count"], churned)[0, 1] < -0.1
    ages = _whole_years(clean_feb["birth_date"], clean_feb["reference_date"])
    assert churned[ages < 30].mean() > churned[ages >= 60].mean()
    by_channel = churned.groupby(clean_feb["signup_channel"], observed=True).mean()
    assert by_channel["partner"] > by_channel["store"]


def test_march_snapshot_changes_some_rows_and_adds_customers(
    feb_raw: pd.DataFrame, mar_raw: pd.DataFrame
) -> None:
    feb, mar = clean_customers(feb_raw), clean_customers(mar_raw)
    feb_ids, mar_ids = set(feb["customer_id"]), set(mar["customer_id"])
    new_ids, gone_ids = mar_ids - feb_ids, feb_ids - mar_ids
    assert 120 <= len(new_ids) <= 180
    assert min(new_ids) > max(feb_ids)
    assert 1 <= len(gone_ids) <= 50

    both = feb.merge(mar, on="customer_id", suffixes=("_feb", "_mar"))
    changed = pd.Series(False, index=both.index)
    for column in VALUE_COLUMNS:
        before, after = both[f"{column}_feb"], both[f"{column}_mar"]
        changed |= before.astype(str) != after.astype(str)
    assert 200 <= changed.sum() <= 600
    moved = both[changed]
    assert moved["birth_date_feb"].equals(moved["birth_date_mar"])
    assert (moved["purchase_count_mar"] >= moved["purchase_count_feb"]).all()
    assert (moved["purchase_total_mar"] >= moved["purchase_total_feb"]).all()


def test_march_export_keeps_untouched_rows_byte_identical_but_for_the_date() -> None:
    feb_lines = (SAMPLE_DIR / FEB_RAW_NAME).read_text().splitlines()[1:]
    mar_lines = (SAMPLE_DIR / MAR_RAW_NAME).read_text().splitlines()[1:]
    as_march = {line.replace(",2026-02-01,", ",2026-03-01,", 1) for line in feb_lines}
    unchanged = sum(line in as_march for line in mar_lines)
    assert unchanged >= 0.9 * len(feb_lines)


def test_online_log_is_deterministic_and_skewed_as_documented(tmp_path: Path) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from sample_data import generate_online

    written = generate_online.generate(tmp_path)
    shipped = generate_online.SAMPLE_DIR / generate_online.ONLINE_NAME
    assert written.read_bytes() == shipped.read_bytes()
    online = pq.read_table(shipped)
    assert online.num_rows == generate_online.SERVED_ROWS
    assert online["age"].null_count == generate_online.AGE_NULLS
    assert "north_east" in pc.unique(online["region"].combine_chunks().dictionary.cast("string")).to_pylist()
    training = generate_online.training_features()
    ratio = pc.mean(online["avg_purchase_value"]).as_py() / pc.mean(training["avg_purchase_value"]).as_py()
    assert 1.05 < ratio < 1.25
