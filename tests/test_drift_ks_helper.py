"""The KS p-value helper process: SciPy's exact digits, and every way it can fail falls back.

See lineage/drift/ks_helper.py for why ``compare`` computes large-sample KS p-values in a
helper interpreter. These tests run the real helper (a real ``python -c`` child).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import threading

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as sps

from lineage.drift import compare, ks_helper, stats
from lineage.errors import InvalidInputError

SEED = 2010
compare_module = importlib.import_module("lineage.drift.compare")  # the package exports the function by that name
# (D, n): zero and one, the Ruben-Gambino edges, the Pelz-Good range, the Smirnov band
# (2.2 <= n·D² < 370, the slow one) and beyond it
PAIRS = [(0.0, 166667.0), (1.0, 166667.0), (2.5e-6, 166667.0), (0.9, 50.0), (0.0021, 166667.0),
         (0.0043, 166667.0), (0.0044, 166667.0), (0.12, 166667.0), (0.011, 40000.0), (0.3, 120.0)]


class _Recorded(subprocess.Popen):  # type: ignore[type-arg]
    """A Popen that remembers every helper started, to check that each one is reaped."""

    started: list[subprocess.Popen] = []  # type: ignore[type-arg]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        _Recorded.started.append(self)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen]:  # type: ignore[type-arg]
    _Recorded.started = []
    monkeypatch.setattr(ks_helper.subprocess, "Popen", _Recorded)
    return _Recorded.started


def _in_process(pairs: list[tuple[float, float]]) -> list[float]:
    return [stats.kstwo_sf(d, n) for d, n in pairs]


def _must_not_fall_back(d: float, n: float) -> float:
    pytest.fail("the helper's answers were dropped: the in-process fallback ran")


def _run(pairs: list[tuple[float, float]], fallback=stats.kstwo_sf) -> list[float]:  # type: ignore[no-untyped-def]
    helper = ks_helper.KsHelper(fallback)
    try:
        for d, n in pairs:
            helper.submit(d, n)
        return helper.collect()
    finally:
        helper.close()


def test_the_helper_returns_scipys_digits(recorded: list[subprocess.Popen]) -> None:  # type: ignore[type-arg]
    assert _run(PAIRS, _must_not_fall_back) == _in_process(PAIRS)
    assert len(recorded) == 1 and recorded[0].returncode == 0


def test_pairs_beyond_the_streamed_ones_are_sent_at_collect(monkeypatch: pytest.MonkeyPatch,
                                                            recorded: list[subprocess.Popen]) -> None:  # type: ignore[type-arg]
    monkeypatch.setattr(ks_helper, "_STREAMED_MAX", 3)
    assert _run(PAIRS, _must_not_fall_back) == _in_process(PAIRS)
    assert recorded[0].returncode == 0


class _SmallPipes(_Recorded):
    """4 KiB pipes (Windows' default, and Linux's once a user exceeds pipe-user-pages-soft)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **{**kwargs, "pipesize": 4096})


def test_many_pairs_through_small_pipes_do_not_deadlock(monkeypatch: pytest.MonkeyPatch) -> None:
    _Recorded.started = []
    monkeypatch.setattr(ks_helper.subprocess, "Popen", _SmallPipes)
    pairs = [(1e-4 + i * 1e-6, 166667.0) for i in range(2000)]  # n·D² < 2.2: cheap (no Smirnov sum)
    done: list[list[float]] = []
    runner = threading.Thread(target=lambda: done.append(_run(pairs, _must_not_fall_back)), daemon=True)
    runner.start()
    runner.join(timeout=120)
    if runner.is_alive():
        for process in _Recorded.started:
            process.kill()
        pytest.fail("submitting through 4 KiB pipes deadlocked")
    assert done == [_in_process(pairs)]


@pytest.mark.parametrize("executable", ["/nonexistent/python", ""])
def test_no_python_to_start_falls_back(monkeypatch: pytest.MonkeyPatch, executable: str) -> None:
    monkeypatch.setattr(sys, "executable", executable)
    assert not ks_helper.helper_pays(10**9) or "scipy.stats" in sys.modules
    assert _run(PAIRS) == _in_process(PAIRS)


BROKEN_HELPERS = {
    "exits at once": "import sys\nsys.exit(1)\n",
    "nonsense": "import sys\nfor line in sys.stdin: print('nonsense')\n",
    "one answer short": ks_helper._HELPER_CODE.replace("for line in sys.stdin:", "for line in list(sys.stdin)[1:]:"),
    "one answer too many": ks_helper._HELPER_CODE + "sys.stdout.write('0x0.0p+0\\n')\n",
    "another SciPy": ks_helper._HELPER_CODE.replace('scipy.__version__ + "', '"0.0.1" + "'),
}


@pytest.mark.parametrize("code", BROKEN_HELPERS.values(), ids=BROKEN_HELPERS.keys())
def test_a_broken_helper_falls_back(monkeypatch: pytest.MonkeyPatch, recorded: list[subprocess.Popen],  # type: ignore[type-arg]
                                    code: str) -> None:
    monkeypatch.setattr(ks_helper, "_HELPER_CODE", code)
    fell_back: list[tuple[float, float]] = []

    def fallback(d: float, n: float) -> float:
        fell_back.append((d, n))
        return stats.kstwo_sf(d, n)

    assert _run(PAIRS, fallback) == _in_process(PAIRS)
    assert fell_back == PAIRS
    assert recorded[0].returncode is not None


def test_close_without_collect_kills_and_reaps(recorded: list[subprocess.Popen]) -> None:  # type: ignore[type-arg]
    helper = ks_helper.KsHelper(stats.kstwo_sf)
    helper.submit(0.01, 1000.0)
    helper.close()
    helper.close()
    assert recorded[0].returncode is not None


def test_the_helper_is_used_only_for_big_inputs_before_scipy_stats_loads() -> None:
    assert not ks_helper.helper_pays(ks_helper.HELPER_MIN_ROWS - 1)
    assert "scipy.stats" in sys.modules  # this test module imported it: in-process is then free
    assert not ks_helper.helper_pays(10**9)
    code = ("import sys; from lineage.drift import ks_helper; "
            "print(ks_helper.helper_pays(10**6), 'scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False"]


def _tables(rows: int) -> tuple[pa.Table, pa.Table, dict[str, tuple[np.ndarray, np.ndarray]]]:
    rng = np.random.default_rng(SEED)
    columns = {
        "same": (rng.normal(0, 1, rows), rng.normal(0, 1, rows // 5)),
        "slight": (rng.normal(0, 1, rows), rng.normal(0.07, 1, rows // 5)),  # n·D² in the Smirnov band
        "shifted": (rng.exponential(1.0, rows), rng.exponential(1.2, rows // 5)),
    }
    ref = pa.table({name: pair[0] for name, pair in columns.items()} | {"region": ["a", "b"] * (rows // 2)})
    cur = pa.table({name: pair[1] for name, pair in columns.items()} | {"region": ["a", "c"] * (rows // 10)})
    return ref, cur, columns


def test_compare_through_the_helper_equals_ks_2samp(monkeypatch: pytest.MonkeyPatch,
                                                    recorded: list[subprocess.Popen]) -> None:  # type: ignore[type-arg]
    monkeypatch.setattr(compare_module, "helper_pays", lambda rows: True)
    ref, cur, columns = _tables(60_000)
    with monkeypatch.context() as patch:
        patch.setattr(stats, "kstwo_sf", _must_not_fall_back)  # every KS p-value must come from the helper
        report = compare(ref, cur)
    assert len(recorded) == 1 and recorded[0].returncode == 0
    for name, (r, c) in columns.items():
        feature = next(f for f in report.features if f.name == name)
        expected = sps.ks_2samp(r, c)
        assert (feature.ks, feature.ks_p_value) == (float(expected.statistic), float(expected.pvalue))
    slight = next(f for f in report.features if f.name == "slight")
    assert 2.2 <= 10_000 * slight.ks**2 < 370  # the slow branch really ran in the helper
    monkeypatch.setattr(compare_module, "helper_pays", lambda rows: False)
    assert compare(ref, cur).to_json() == report.to_json()


def test_a_failing_comparison_leaves_no_helper_behind(monkeypatch: pytest.MonkeyPatch,
                                                      recorded: list[subprocess.Popen]) -> None:  # type: ignore[type-arg]
    monkeypatch.setattr(compare_module, "helper_pays", lambda rows: True)
    ref, cur, _ = _tables(20_000)
    with pytest.raises(InvalidInputError, match="needs a numeric feature"):
        compare(ref, cur, tests={"region": "ks"})
    assert len(recorded) == 1 and recorded[0].returncode is not None
