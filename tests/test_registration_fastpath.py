"""Registering bytes the store already holds: no copy, no parse, no pyarrow; settings without pydantic-settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import lineage.tabular as tabular
from lineage.objectstore import ObjectStore
from lineage.store import Store
from tests.factories import write_csv, write_parquet

AN_HOUR_NS = 3600 * 10**9
METADATA = ("sha256", "size_bytes", "format", "rows", "columns", "schema", "arrow_schema", "fingerprint", "files")


def old_file(path: Path) -> Path:
    """Files users register are usually not seconds old: old enough for the hash cache."""
    past = time.time_ns() - AN_HOUR_NS
    os.utime(path, ns=(past, past))
    return path


def metadata(info: object) -> dict:
    return {key: getattr(info, key) for key in METADATA}


@pytest.fixture
def no_parse_no_copy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record any parse or copy (the fast path must do neither)."""
    calls: list[str] = []
    inspect, stage = tabular.inspect, ObjectStore.stage

    def spy_inspect(*args: object, **kwargs: object) -> object:
        calls.append("inspect")
        return inspect(*args, **kwargs)  # type: ignore[arg-type]

    def spy_stage(self: ObjectStore, *args: object, **kwargs: object) -> object:
        calls.append("stage")
        return stage(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tabular, "inspect", spy_inspect)
    monkeypatch.setattr(ObjectStore, "stage", spy_stage)
    return calls


def test_new_version_of_registered_bytes_reuses_the_recorded_metadata(
    store: Store, data_dir: Path, no_parse_no_copy: list[str]
) -> None:
    path = old_file(write_parquet(data_dir / "c.parquet", rows=300))
    first = store.snapshots.add(path, dataset="customers", version="v1")
    assert sorted(no_parse_no_copy) == ["inspect", "stage"]  # two threads: either order
    again = store.snapshots.add(path, dataset="customers", version="v2", note="same bytes")
    other = store.snapshots.add(path, dataset="archive")
    assert sorted(no_parse_no_copy) == ["inspect", "stage"]  # neither copied nor parsed again
    assert again.created and other.created and again.ref == "customers@v2"
    assert metadata(again) == metadata(first) == metadata(other)
    assert again.note == "same bytes" and again.source_uri == str(path) and again.stored
    events = [e for e in store.audit.log() if e.action == "snapshot.add"]
    assert [e.subject for e in events] == ["customers@v1", "customers@v2", other.ref]
    assert events[1].payload["fingerprint"] == first.fingerprint and events[1].payload["rows"] == 300


def test_reuse_matches_a_full_registration_of_the_same_bytes(sqlite_store: Store, data_dir: Path) -> None:
    path = old_file(write_parquet(data_dir / "c.parquet", rows=120, row_group_size=25))
    first = sqlite_store.snapshots.add(path, dataset="a", version="v1")
    reused = sqlite_store.snapshots.add(path, dataset="a", version="v2")
    sqlite_store.hash_cache.path.unlink()  # no cache: hashed, copied and parsed again
    full = sqlite_store.snapshots.add(path, dataset="a", version="v3")
    assert metadata(reused) == metadata(full) == metadata(first)
    assert reused.to_json().keys() == full.to_json().keys()


def test_a_missing_blob_is_restored_instead_of_reused(sqlite_store: Store, data_dir: Path,
                                                       no_parse_no_copy: list[str]) -> None:
    path = old_file(write_parquet(data_dir / "c.parquet"))
    first = sqlite_store.snapshots.add(path, dataset="a", version="v1")
    Path(sqlite_store.objects.key_path(first.sha256)).unlink()
    again = sqlite_store.snapshots.add(path, dataset="a", version="v2")
    assert sorted(no_parse_no_copy) == ["inspect", "inspect", "stage", "stage"]
    assert sqlite_store.objects.exists(first.sha256) and sqlite_store.objects.verify(first.sha256) is None
    assert metadata(again) == metadata(first)


def test_bytes_registered_without_copy_are_copied_when_a_copy_is_asked_for(
    sqlite_store: Store, data_dir: Path, no_parse_no_copy: list[str]
) -> None:
    path = old_file(write_parquet(data_dir / "c.parquet"))
    first = sqlite_store.snapshots.add(path, dataset="a", version="v1", copy=False)
    assert not sqlite_store.objects.exists(first.sha256)
    no_copy_again = sqlite_store.snapshots.add(path, dataset="a", version="v2", copy=False)
    assert no_parse_no_copy == ["inspect"] and not no_copy_again.stored
    copied = sqlite_store.snapshots.add(path, dataset="a", version="v3")
    assert copied.stored and sqlite_store.objects.exists(first.sha256)
    assert metadata(copied) == metadata(first)


def test_directory_snapshot_is_reused_with_its_member_list(sqlite_store: Store, data_dir: Path,
                                                           no_parse_no_copy: list[str]) -> None:
    folder = data_dir / "parts"
    folder.mkdir()
    for number in range(3):
        old_file(write_parquet(folder / f"part-{number}.parquet", rows=40, seed=number))
    first = sqlite_store.snapshots.add(folder, dataset="parts", version="v1")
    calls = len(no_parse_no_copy)
    again = sqlite_store.snapshots.add(folder, dataset="parts", version="v2")
    assert len(no_parse_no_copy) == calls
    assert metadata(again) == metadata(first) and len(again.files) == 3
    target = sqlite_store.snapshots.checkout("parts@v2", data_dir / "restored")
    assert sorted(p.name for p in target.iterdir()) == ["part-0.parquet", "part-1.parquet", "part-2.parquet"]


def test_csv_is_parsed_again_because_its_table_depends_on_its_name(sqlite_store: Store, data_dir: Path,
                                                                   no_parse_no_copy: list[str]) -> None:
    path = old_file(write_csv(data_dir / "c.csv"))
    first = sqlite_store.snapshots.add(path, dataset="a", version="v1")
    again = sqlite_store.snapshots.add(path, dataset="a", version="v2")
    assert no_parse_no_copy.count("inspect") == 2
    assert metadata(again) == metadata(first)


CLI = "import sys; from lineage.cli import main; sys.argv[0] = 'lineage'; main()"
PROBE = """
import json, sys
from lineage.cli import main
sys.argv = ["lineage", *sys.argv[1:]]
try:
    main()
finally:
    heavy = sorted(m for m in ("pyarrow", "numpy", "pandas", "blake3", "fsspec", "pydantic_settings", "alembic")
                   if m in sys.modules)
    print("HEAVY " + json.dumps(heavy), file=sys.stderr)
"""


def run_cli(args: list[str], env: dict[str, str], probe: bool = False) -> tuple[dict, list[str]]:
    code = PROBE if probe else CLI
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    heavy = next((json.loads(line[6:]) for line in done.stderr.splitlines() if line.startswith("HEAVY ")), [])
    return json.loads(done.stdout), heavy


def test_cache_hit_readd_and_new_version_do_not_import_pyarrow(tmp_path: Path) -> None:
    env = dict(os.environ, LINEAGE_HOME=str(tmp_path / "home"))
    subprocess.run([sys.executable, "-c", CLI, "init"], check=True, env=env, capture_output=True, timeout=120)
    path = old_file(write_parquet(tmp_path / "data.parquet", rows=500))
    add = ["snapshot", "add", str(path), "--dataset", "d", "--json"]
    first, _ = run_cli([*add, "--version", "v1"], env)
    again, heavy = run_cli([*add, "--version", "v1"], env, probe=True)
    assert heavy == [] and again == {**first, "created": False}  # the same snapshot, same JSON
    second, heavy = run_cli([*add, "--version", "v2"], env, probe=True)
    assert heavy == []
    assert second["created"] is True and second["ref"] == "d@v2"
    assert {k: second[k] for k in METADATA if k in second} == {k: first[k] for k in METADATA if k in first}
    listed, heavy = run_cli(["snapshot", "list", "--json"], env, probe=True)
    assert heavy == [] and [s["ref"] for s in listed] == ["d@v1", "d@v2"]


# -- settings ----------------------------------------------------------------------------------

def _pydantic_settings_reference() -> type:
    """The Settings class as it was, on pydantic-settings: the behaviour to keep."""
    from pydantic import field_validator
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class Settings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="LINEAGE_", extra="ignore")

        home: Path = Path(".lineage")
        db_url: str | None = None
        store_url: str | None = None
        store_options: str | None = None
        user: str = ""
        read_only: bool = False

        @field_validator("home", mode="after")
        @classmethod
        def _absolute_home(cls, value: Path) -> Path:
            return value.expanduser().absolute()

    return Settings


ENVIRONMENTS = [
    ({}, {}),
    ({"LINEAGE_HOME": "/srv/lineage", "LINEAGE_DB_URL": "sqlite:///x.db", "LINEAGE_STORE_URL": "memory://o"}, {}),
    ({"LINEAGE_STORE_URL": "s3://bucket/objects", "LINEAGE_STORE_OPTIONS": '{"requester_pays": true}'}, {}),
    ({"lineage_home": "~/store", "Lineage_User": " alice "}, {}),
    ({"LINEAGE_HOME": ""}, {}),
    ({"LINEAGE_HOME": "/a"}, {"home": Path("/b"), "db_url": None}),
    ({"LINEAGE_DB_URL": ""}, {}),
    ({"LINEAGE_TEST_PG_URL": "postgresql://x", "LINEAGE_UNKNOWN": "1"}, {"unknown": 3}),
    *[({"LINEAGE_READ_ONLY": value}, {}) for value in ("1", "0", "true", "False", "yes", "no", "on", "off", "t", "F")],
    ({"LINEAGE_READ_ONLY": "1"}, {"read_only": False}),
    ({"LINEAGE_READ_ONLY": "maybe"}, {}),
    ({"LINEAGE_READ_ONLY": ""}, {}),
]


@pytest.mark.parametrize(("environment", "overrides"), ENVIRONMENTS)
def test_settings_read_the_environment_as_pydantic_settings_did(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], overrides: dict[str, object]
) -> None:
    from pydantic import ValidationError

    from lineage.config import Settings
    from lineage.errors import InvalidInputError

    for name in list(os.environ):
        if name.lower().startswith("lineage_"):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    reference = _pydantic_settings_reference()
    try:
        expected: object = reference(**overrides).model_dump()
    except ValidationError as exc:
        expected = [(e["loc"], e["type"]) for e in exc.errors()]
    try:
        actual: object = Settings(**overrides).model_dump()
    except ValidationError as exc:
        actual = [(e["loc"], e["type"]) for e in exc.errors()]
    except InvalidInputError as exc:  # what pydantic refused with a traceback is now refused in one line
        assert "LINEAGE_READ_ONLY" in str(exc)
        actual = [(("read_only",), "bool_parsing")]
    assert actual == expected


def test_opening_a_store_imports_neither_pydantic_settings_nor_pyarrow(tmp_path: Path) -> None:
    code = ("import sys; from lineage.store import Store; Store.init(sys.argv[1]).snapshots.list(); "
            "print(sorted(m for m in ('pydantic_settings', 'pyarrow', 'fsspec', 'alembic') if m in sys.modules))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    first = subprocess.run([sys.executable, "-c", code, str(tmp_path / "h")], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    # the first init runs the migrations (alembic); opening an up-to-date store does not
    again = subprocess.run([sys.executable, "-c", code, str(tmp_path / "h")], capture_output=True, text=True, env=env)
    assert again.stdout.strip() == "[]", again.stderr
