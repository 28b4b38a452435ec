"""Generate the deterministic sample customer snapshots used to demonstrate Lineage.

Lineage's promise is "this model was built from exactly these bytes", so the
demo data must itself be reproducible byte for byte: every random draw comes
from one ``numpy.random.default_rng(SEED)`` consumed in a fixed order, CSVs are
written with fixed float formatting and line endings, and the Parquet file is
written with a fixed schema, fixed compression and no version-dependent
metadata.

Files written (into this folder unless ``--out DIR`` is given):

* ``customers_raw_2026_02_01.csv`` - raw export with realistic defects;
* ``customers_clean_v1.0.parquet`` - ``sample_data.clean.clean_customers``
  applied to the February export as read back from disk;
* ``customers_raw_2026_03_01.csv`` - the same population one month later.

Run with ``python sample_data/generate.py`` or ``python -m sample_data.generate``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

if __package__ in (None, ""):
    # Run as a script: put the repo root on sys.path so the transform is imported
    # as ``sample_data.clean`` - the same reference Lineage records in package mode.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sample_data.clean import (
    RAW_COLUMNS,
    clean_customers,
    read_raw_customers,
    to_arrow_table,
)

SEED = 2010
SAMPLE_DIR = Path(__file__).resolve().parent

FEB_REFERENCE = date(2026, 2, 1)
MAR_REFERENCE = date(2026, 3, 1)
DAYS_BETWEEN_SNAPSHOTS = (MAR_REFERENCE - FEB_REFERENCE).days

FEB_RAW_NAME = "customers_raw_2026_02_01.csv"
MAR_RAW_NAME = "customers_raw_2026_03_01.csv"
CLEAN_NAME = "customers_clean_v1.0.parquet"
MAX_TOTAL_BYTES = 2 * 1024 * 1024

N_CUSTOMERS = 5_000
FIRST_CUSTOMER_ID = 100_001
N_NEW_IN_MARCH = 150
N_GONE_IN_MARCH = 25
N_RETURNING_IN_MARCH = 260
N_LAPSED_IN_MARCH = 70

MIN_AGE, MAX_AGE = 18, 85
REGIONS: tuple[str, ...] = ("north", "south", "east", "west", "central")
REGION_WEIGHTS: tuple[float, ...] = (0.29, 0.24, 0.19, 0.16, 0.12)
CHANNELS: tuple[str, ...] = ("web", "store", "partner", "mobile")
CHANNEL_WEIGHTS: tuple[float, ...] = (0.44, 0.26, 0.12, 0.18)

# Churn model on the logit scale.  Recency dominates, purchase frequency and age
# protect, and partner-acquired customers are the least loyal.  The intercept is
# tuned so the overall churn rate lands at roughly a quarter.
CHURN_INTERCEPT = -1.9
CHURN_PER_RECENCY_DAY = 0.0065
CHURN_RECENCY_CAP_DAYS = 540
CHURN_PER_PURCHASE = -0.09
CHURN_PER_AGE_YEAR = -0.03
CHURN_AGE_CENTRE = 45.0
CHANNEL_CHURN_EFFECT: dict[str, float] = {
    "web": 0.0,
    "store": -0.35,
    "partner": 0.5,
    "mobile": 0.25,
}

FLOAT_FORMAT = "%.2f"


@dataclass(frozen=True)
class DefectRates:
    """Share of rows receiving each raw-data defect that cleaning must fix."""

    duplicated: float = 0.0025
    missing_region: float = 0.015
    noisy_region: float = 0.03
    negative_total: float = 0.0016


DEFECTS = DefectRates()


def _count(rate: float, n: int) -> int:
    """Number of rows a rate applies to; rounding keeps small batches defect-light."""
    return round(rate * n)


def sample_ages(rng: np.random.Generator, n: int) -> np.ndarray:
    """Ages in years, skewed towards the 30-55 bracket like a typical retail base."""
    return MIN_AGE + (MAX_AGE - MIN_AGE) * rng.beta(2.2, 3.0, size=n)


def birth_dates_for(ages: np.ndarray, reference: date) -> np.ndarray:
    """Birth dates (as ``YYYY-MM-DD`` strings) making each customer ``age`` old.

    Rounding the age in days *up* keeps whole-year ages within MIN_AGE..MAX_AGE.
    """
    age_days = np.ceil(ages * 365.25).astype("int64")
    births = np.datetime64(reference, "D") - age_days.astype("timedelta64[D]")
    return np.datetime_as_string(births, unit="D")


def sample_purchases(
    rng: np.random.Generator, n: int, recent_signups: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Purchase count, lifetime total and days since last purchase.

    Established customers get an over-dispersed count (many light buyers, a few
    heavy ones) and frequent buyers bought more recently.  Recent sign-ups have
    joined within the last month, so both count and recency are small.  For a
    customer with no purchase yet, ``last_purchase_days`` counts from sign-up.
    """
    if recent_signups:
        counts = rng.poisson(1.2, size=n)
        recency = rng.integers(0, DAYS_BETWEEN_SNAPSHOTS, size=n)
    else:
        counts = rng.negative_binomial(1.5, 1.5 / (1.5 + 7.0), size=n)
        scale = 25.0 + 900.0 / (2.0 + counts)
        recency = np.minimum(np.rint(rng.exponential(scale)), 1_800).astype("int64")
    basket = rng.lognormal(mean=np.log(38.0), sigma=0.55, size=n)
    noise = rng.lognormal(mean=0.0, sigma=0.2, size=n)
    totals = np.round(counts * basket * noise, 2)
    return counts.astype("int64"), totals, recency.astype("int64")


def churn_probability(
    ages: np.ndarray, counts: np.ndarray, recency: np.ndarray, channels: np.ndarray
) -> np.ndarray:
    """Logistic churn probability with the correlations a churn model should find."""
    channel_effect = np.array([CHANNEL_CHURN_EFFECT[c] for c in channels])
    logit = (
        CHURN_INTERCEPT
        + CHURN_PER_RECENCY_DAY * np.minimum(recency, CHURN_RECENCY_CAP_DAYS)
        + CHURN_PER_PURCHASE * counts
        + CHURN_PER_AGE_YEAR * (ages - CHURN_AGE_CENTRE)
        + channel_effect
    )
    return 1.0 / (1.0 + np.exp(-logit))


def generate_customers(
    rng: np.random.Generator,
    customer_ids: np.ndarray,
    reference: date,
    recent_signups: bool = False,
) -> pd.DataFrame:
    """A defect-free customer table in the raw column layout (dates as strings)."""
    n = len(customer_ids)
    ages = sample_ages(rng, n)
    regions = rng.choice(REGIONS, size=n, p=REGION_WEIGHTS)
    channels = rng.choice(CHANNELS, size=n, p=CHANNEL_WEIGHTS)
    counts, totals, recency = sample_purchases(rng, n, recent_signups)
    churned = rng.random(n) < churn_probability(ages, counts, recency, channels)
    return pd.DataFrame(
        {
            "customer_id": customer_ids.astype("int64"),
            "birth_date": birth_dates_for(ages, reference),
            "reference_date": reference.isoformat(),
            "region": regions,
            "signup_channel": channels,
            "purchase_total": totals,
            "purchase_count": counts,
            "last_purchase_days": recency,
            "churned": churned.astype("int64"),
        },
        columns=list(RAW_COLUMNS),
    )


REGION_NOISE: tuple[Callable[[str], str], ...] = (
    lambda r: f" {r.title()}",
    lambda r: r.upper(),
    lambda r: f"{r.title()} ",
    lambda r: f"  {r}",
)


def _noisy_region(rng: np.random.Generator, regions: pd.Series) -> list[str]:
    """Whitespace/case variants of region names, as typed by hand in a CRM."""
    picks = rng.integers(0, len(REGION_NOISE), size=len(regions))
    return [REGION_NOISE[k](r) for k, r in zip(picks, regions, strict=True)]


def inject_raw_defects(
    clean: pd.DataFrame, rng: np.random.Generator, rates: DefectRates = DEFECTS
) -> pd.DataFrame:
    """Add the defects cleaning must repair, then order rows by customer id.

    Region and total defects touch disjoint rows so each kind is countable.
    Duplicates are exact copies of any row (defects included), placed next to
    the original like a doubled export batch; the stable sort keeps it first.
    """
    n = len(clean)
    raw = clean.copy()
    n_missing = _count(rates.missing_region, n)
    n_noisy = _count(rates.noisy_region, n)
    n_negative = _count(rates.negative_total, n)
    positive = np.flatnonzero(raw["purchase_total"].to_numpy() > 0)
    negative_rows = rng.choice(positive, size=n_negative, replace=False)
    others = np.setdiff1d(np.arange(n), negative_rows)
    picked = rng.choice(others, size=n_missing + n_noisy, replace=False)
    missing_rows, noisy_rows = picked[:n_missing], picked[n_missing:]

    col = raw.columns.get_loc
    raw.iloc[negative_rows, col("purchase_total")] *= -1
    raw.iloc[missing_rows, col("region")] = ""
    raw.iloc[noisy_rows, col("region")] = _noisy_region(
        rng, raw["region"].iloc[noisy_rows]
    )

    dup_rows = rng.choice(n, size=_count(rates.duplicated, n), replace=False)
    with_dups = pd.concat([raw, raw.iloc[np.sort(dup_rows)]], ignore_index=True)
    return with_dups.sort_values("customer_id", kind="stable").reset_index(drop=True)


def _returning_update(rng: np.random.Generator, month: pd.DataFrame) -> pd.DataFrame:
    """Customers who bought again this month: more purchases, recent, not churned."""
    n = len(month)
    extra = rng.integers(1, 5, size=n)
    spend = extra * rng.lognormal(mean=np.log(38.0), sigma=0.55, size=n)
    month = month.copy()
    month["purchase_count"] = month["purchase_count"] + extra
    month["purchase_total"] = np.round(month["purchase_total"] + spend, 2)
    month["last_purchase_days"] = rng.integers(0, DAYS_BETWEEN_SNAPSHOTS, size=n)
    month["churned"] = 0
    return month


def _lapsed_update(month: pd.DataFrame) -> pd.DataFrame:
    """Customers who went quiet and are now labelled churned; a month has passed."""
    month = month.copy()
    month["last_purchase_days"] = month["last_purchase_days"] + DAYS_BETWEEN_SNAPSHOTS
    month["churned"] = 1
    return month


def _pick_ids(rng: np.random.Generator, ids: np.ndarray, size: int) -> np.ndarray:
    """Sorted sample of distinct ids (sorted so later steps stay order-independent)."""
    return np.sort(rng.choice(ids, size=size, replace=False))


def evolve_to_march(feb_raw: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The February export one month on, defects included.

    Starting from the raw file (not the defect-free truth) keeps untouched rows
    identical apart from ``reference_date``, so the snapshot diff Lineage shows
    is exactly: N_RETURNING_IN_MARCH + N_LAPSED_IN_MARCH updated customers,
    N_GONE_IN_MARCH removed and N_NEW_IN_MARCH appended.  As a deliberate
    simplification, customers without activity keep their February
    ``last_purchase_days``.
    """
    march = feb_raw.copy()
    ids = np.unique(march["customer_id"].to_numpy())
    gone = _pick_ids(rng, ids, N_GONE_IN_MARCH)
    march = march[~march["customer_id"].isin(gone)]

    # Returning buyers come from rows without a sign typo, so totals stay sane.
    ok_totals = march.groupby("customer_id")["purchase_total"].min().ge(0)
    returning = _pick_ids(
        rng, ok_totals.index[ok_totals].to_numpy(), N_RETURNING_IN_MARCH
    )
    is_returning = march["customer_id"].isin(returning)
    march.loc[is_returning] = _returning_update(rng, march.loc[is_returning])

    candidates = march[
        ~is_returning & march["churned"].eq(0) & march["last_purchase_days"].gt(60)
    ]
    lapsed = _pick_ids(rng, np.unique(candidates["customer_id"]), N_LAPSED_IN_MARCH)
    is_lapsed = march["customer_id"].isin(lapsed)
    march.loc[is_lapsed] = _lapsed_update(march.loc[is_lapsed])

    # New ids continue after every id ever issued: a gone id is never reused.
    new_ids = np.arange(N_NEW_IN_MARCH) + ids.max() + 1
    newcomers = generate_customers(rng, new_ids, MAR_REFERENCE, recent_signups=True)
    march = pd.concat([march, inject_raw_defects(newcomers, rng)], ignore_index=True)
    march["reference_date"] = MAR_REFERENCE.isoformat()
    return march.sort_values("customer_id", kind="stable").reset_index(drop=True)


def write_raw_csv(raw: pd.DataFrame, path: Path) -> None:
    """Write a raw export with fixed formatting so bytes never depend on platform."""
    raw.loc[:, list(RAW_COLUMNS)].to_csv(
        path,
        index=False,
        lineterminator="\n",
        float_format=FLOAT_FORMAT,
        encoding="utf-8",
    )


def write_clean_parquet(clean: pd.DataFrame, path: Path) -> None:
    """Write the clean table with fixed schema and codec for byte-identical output."""
    pq.write_table(to_arrow_table(clean), path, compression="zstd", compression_level=3)


def generate(out_dir: Path) -> list[Path]:
    """Write all sample files into ``out_dir`` and return their paths.

    The clean table is built from the February CSV *as read back from disk*, so
    the Parquet file is exactly what the recorded transform yields from the
    recorded raw snapshot.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    ids = np.arange(N_CUSTOMERS) + FIRST_CUSTOMER_ID
    feb_raw = inject_raw_defects(generate_customers(rng, ids, FEB_REFERENCE), rng)
    march_raw = evolve_to_march(feb_raw, rng)

    feb_path, clean_path, mar_path = (
        out_dir / FEB_RAW_NAME,
        out_dir / CLEAN_NAME,
        out_dir / MAR_RAW_NAME,
    )
    write_raw_csv(feb_raw, feb_path)
    write_clean_parquet(clean_customers(read_raw_customers(feb_path)), clean_path)
    write_raw_csv(march_raw, mar_path)
    return [feb_path, clean_path, mar_path]


def check_total_size(paths: Sequence[Path], limit: int = MAX_TOTAL_BYTES) -> int:
    """Fail loudly if the sample grows past what belongs in a git repository."""
    total = sum(p.stat().st_size for p in paths)
    if total >= limit:
        raise SystemExit(f"sample data is {total:,} bytes; limit is {limit:,}")
    return total


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options; the output folder is the only knob on purpose."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=SAMPLE_DIR,
        help=f"output folder (default: {SAMPLE_DIR})",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the files, enforce the size budget and print a short summary."""
    args = parse_args(argv)
    paths = generate(args.out)
    total = check_total_size(paths)
    for path in paths:
        print(f"{path.stat().st_size:>10,}  {path}")
    print(f"{total:>10,}  total bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
