"""A session-wide SQLite store with the demo data and churn@1.1.0 and churn@1.2.0 trained for real.

Training imports scikit-learn and pandas (seconds), so the store is built once per test
session and shared by test_lineage_diff.py and test_reproduce.py; tests that change
it only add new model versions. The models are trained by sample_data/train.py from
the checkout at ROOT, so the recorded code is this work tree (dirty or clean).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage.store import Store

ROOT = Path(__file__).resolve().parents[1]
RUNS = (("1.1.0", "customer_features@2.0.0"), ("1.2.0", "customer_features@2.1.0"))

# Both versions train in one interpreter (the imports dominate the time). sys.argv is set
# to the command a user types, so each model records exactly that entrypoint.
DRIVER = """
import sys
sys.path.insert(0, {root!r})
from sample_data import train
for version, feature_set in {runs!r}:
    sys.argv = ["sample_data/train.py", "--version", version, "--feature-set", feature_set]
    train.main(sys.argv[1:])
"""


def store_env(home: Path) -> dict[str, str]:
    """This process's environment pointed at ``home`` only (no developer store settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env.update(LINEAGE_HOME=str(home), LINEAGE_USER="tester")
    return env


def open_store(home: Path) -> Store:
    return Store.open(home, db_url=None, store_url=None, read_only=False, user="tester")


_BUILT: dict[str, Path] = {}  # each test module that imports the fixture gets its own definition: build once


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LINEAGE_HOME of the shared trained store."""
    if "home" not in _BUILT:
        _BUILT["home"] = _build(tmp_path_factory.mktemp("trained") / "home")
    return _BUILT["home"]


def _build(home: Path) -> Path:
    from lineage.demo import load_demo

    with Store.init(home, db_url=None, store_url=None, read_only=False, user="tester") as store:
        load_demo(store)  # it may already train the churn models; only missing ones are trained below
        missing = [(v, fs) for v, fs in RUNS if store.models.find(f"churn@{v}") is None]
    if missing:
        result = subprocess.run([sys.executable, "-c", DRIVER.format(root=str(ROOT), runs=missing)], cwd=ROOT,
                                env=store_env(home), capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == 0, result.stderr
    return home


@pytest.fixture
def trained(trained_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The shared trained store, opened, with LINEAGE_HOME pointing at it (for the CLI)."""
    monkeypatch.setenv("LINEAGE_HOME", str(trained_home))
    store = open_store(trained_home)
    yield store
    store.close()
