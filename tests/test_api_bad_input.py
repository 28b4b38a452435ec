"""The Python API refuses values of the wrong type in one line (a LineageError), writing nothing.

Python users pass what the CLI never can: None, an int version, a single ref where a list is
expected, non-string keys, a date string for ``as_of``. Each must be named in a LineageError
rather than surface as a TypeError or AttributeError from deep inside, or be silently read as
something else (a str iterated character by character, ``{1: "a"}`` stored as ``{"1": "a"}``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage.errors import LineageError
from lineage.store import Store
from tests.factories import write_parquet


@pytest.fixture
def filled(sqlite_store: Store, data_dir: Path) -> tuple[Store, Path]:
    raw = write_parquet(data_dir / "raw.parquet", seed=1)
    sqlite_store.snapshots.add(raw, dataset="raw", version="v1")
    artifact = data_dir / "model.bin"
    artifact.write_bytes(b"model bytes")
    sqlite_store.models.register("m@1.0.0", artifact=artifact, inputs=["raw@v1"], seed=1)
    return sqlite_store, data_dir


def _written(store: Store, folder: Path) -> tuple[int, list[str]]:
    objects = sorted(str(p) for p in (Path(store.home) / "objects").rglob("*") if p.is_file())
    return len(store.audit.log()), objects + sorted(p.name for p in folder.iterdir())


CALLS = {
    "add-none-path": lambda s, d: s.snapshots.add(None, dataset="x", version="v1"),
    "add-int-version": lambda s, d: s.snapshots.add(d / "raw.parquet", dataset="x", version=1),
    "add-parent-not-a-ref": lambda s, d: s.snapshots.add(d / "raw.parquet", dataset="x", version="v1", parents=[1]),
    "get-int-ref": lambda s, d: s.snapshots.get(1),
    "checkout-none-destination": lambda s, d: s.snapshots.checkout("raw@v1", None),
    "register-none-ref": lambda s, d: s.models.register(None, artifact=d / "model.bin"),
    "register-none-artifact": lambda s, d: s.models.register("m@2.0.0", artifact=None),
    "register-int-param-key": lambda s, d: s.models.register("m@2.0.0", artifact=d / "model.bin", params={1: "a"}),
    "register-input-not-a-ref": lambda s, d: s.models.register("m@2.0.0", artifact=d / "model.bin", inputs=[None]),
    "model-get-none": lambda s, d: s.models.get(None),
    "features-get-none": lambda s, d: s.features.get(None),
    "features-register-none": lambda s, d: s.features.register(None, module="x"),
    "aliases-as-of-string": lambda s, d: s.models.aliases("m", as_of="2026-01-01"),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_wrong_types_are_one_line_lineage_errors_and_write_nothing(filled: tuple[Store, Path], call) -> None:  # noqa: ANN001
    store, folder = filled
    before = _written(store, folder)
    with pytest.raises(LineageError) as refused:
        call(store, folder)
    assert "\n" not in str(refused.value)
    assert _written(store, folder) == before


def test_as_of_string_is_refused_by_trace_too(filled: tuple[Store, Path]) -> None:
    from lineage.graph import trace

    with pytest.raises(LineageError, match="as_of must be a datetime"):
        trace(filled[0], "m@1.0.0", as_of="2026-01-01")  # type: ignore[arg-type]


def test_one_ref_given_as_a_string_is_one_ref_not_its_characters(filled: tuple[Store, Path]) -> None:
    store, folder = filled
    derived = write_parquet(folder / "derived.parquet", seed=2)
    info = store.snapshots.add(derived, dataset="clean", version="v1", parents="raw@v1")  # type: ignore[arg-type]
    assert info.parents == ["raw@v1"]
    assert [s.ref for s in store.snapshots.get_many("raw@v1")] == ["raw@v1"]  # type: ignore[arg-type]
    model = store.models.register("m@2.0.0", artifact=folder / "model.bin", inputs="clean@v1:train", seed=1)
    assert [(i.ref, i.role) for i in model.inputs] == [("clean@v1", "train")]
    none = store.models.register("m@3.0.0", artifact=folder / "model.bin", inputs=None, seed=1)
    assert none.inputs == []


def test_a_numpy_integer_seed_is_registered_as_a_plain_int(filled: tuple[Store, Path]) -> None:
    import json

    import numpy as np

    store, folder = filled
    info = store.models.register("m@4.0.0", artifact=folder / "model.bin", seed=np.int64(3))
    assert type(info.seed) is int and info.seed == 3
    assert json.loads(json.dumps(store.models.get("m@4.0.0").to_json()))["seed"] == 3
