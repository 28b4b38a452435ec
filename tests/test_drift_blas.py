"""compare() keeps NumPy's BLAS on one thread while its workers run, and restores it after.

OpenBLAS's idle threads spin on the cores the workers need (lineage/drift/blas.py). The
limit is process-wide, so overlapping comparisons must share it and restore the original.
The checks run on the test's own thread (see the overlapping test for why).
"""

from __future__ import annotations

import importlib

import numpy as np
import pyarrow as pa
import pytest
from threadpoolctl import threadpool_info

from lineage.drift import blas, compare, stats

compare_module = importlib.import_module("lineage.drift.compare")  # the package exports the function by that name


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


@pytest.fixture
def several_blas_threads() -> list[int]:
    """BLAS's thread counts before the test, which must not be one already (then nothing could fail)."""
    threads = _blas_threads()
    if not threads:
        pytest.skip("threadpoolctl sees no BLAS library in this NumPy build")
    if 1 in threads:
        pytest.skip("BLAS already runs on one thread here (one core, or OPENBLAS_NUM_THREADS=1)")
    return threads


def test_one_blas_thread_inside_and_the_original_after(several_blas_threads: list[int]) -> None:
    with blas.one_blas_thread():
        assert _blas_threads() == [1] * len(several_blas_threads)
    assert _blas_threads() == several_blas_threads


def test_overlapping_limits_restore_the_original_once_both_end(several_blas_threads: list[int]) -> None:
    """Two comparisons at once share the limit: the one that ends first must not lift it for the other.

    (Both are entered on this thread: OpenBLAS reports a limit set on another thread wrongly
    once the main thread has set one, which other tests in this process may have done.)
    """
    first, second = blas.one_blas_thread(), blas.one_blas_thread()
    first.__enter__()
    second.__enter__()
    second.__exit__(None, None, None)
    assert blas._users == 1 and _blas_threads() == [1] * len(several_blas_threads)
    first.__exit__(None, None, None)
    assert blas._users == 0 and _blas_threads() == several_blas_threads


def test_the_workers_measure_inside_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    depth: list[int] = []
    limited = blas.one_blas_thread

    def counting():  # type: ignore[no-untyped-def]
        depth.append(1)
        return limited()

    inside: list[bool] = []
    wasserstein = stats.wasserstein

    def recording(merged: stats.MergedEcdf) -> float:
        inside.append(blas._users > 0)
        return wasserstein(merged)

    monkeypatch.setattr(compare_module, "one_blas_thread", counting)
    monkeypatch.setattr(stats, "wasserstein", recording)
    rng = np.random.default_rng(2010)
    compare(pa.table({"x": rng.normal(0, 1, 5000)}), pa.table({"x": rng.normal(0.1, 1, 4000)}))
    assert depth == [1] and inside == [True]
    assert blas._users == 0
