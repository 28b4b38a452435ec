"""Text every backend can store: too long, NUL and not-UTF-8 input is one line on SQLite and PostgreSQL alike.

SQLite stores whatever it is given; PostgreSQL refuses a NUL, a value longer than its
VARCHAR column and text that is not UTF-8 with a driver traceback. Every test here runs
on both backends and checks that the refusal is the same one line and that nothing is
written. Also here: built text that must fit (the drift subject), byte-order lists
whatever the database's collation, and the alias holder read under the write lock.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from lineage.cli import main
from lineage.config import Settings
from lineage.db import Database
from lineage.errors import InvalidInputError, InvalidNameError, LineageError
from lineage.graph import impact, trace
from lineage.manifest import parse_manifest
from lineage.store import Store
from lineage.stored_text import check_text, fit, is_storable
from lineage.tables import SQLModel
from tests.conftest import PG_SKIP_REASON, PG_URL
from tests.factories import write_parquet

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "sample_data" / "customers_clean_v1.0.parquet"
SCHEMA_2_0 = ROOT / "sample_data" / "schemas" / "customer_features_2.0.0.json"
MODULE_2_0 = "sample_data.features.customer_features_2_0"
SURROGATE = "sur\udcff"  # what Python makes of the byte \xff on a UTF-8 command line


def db_state(store: Store) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Every row of every table, on either backend: "store unchanged" means this is equal."""
    state = []
    with store.db.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            rows = connection.execute(table.select()).all()
            state.append((table.name, sorted(tuple(map(repr, row)) for row in rows)))
    return state


def refused(store: Store, call: Any, expected: str, error: type[LineageError] = LineageError) -> str:
    """``call()`` raises ``error`` with one line holding ``expected``, and nothing is written."""
    before = db_state(store)
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and expected in message, message
    assert db_state(store) == before
    return message


@pytest.fixture
def model_store(store: Store, tmp_path: Path) -> Store:
    """A store on each backend holding a snapshot and model m1 at 1.0.0, 1.0.1 and 1.0.2."""
    store.snapshots.add(CLEAN, dataset="customers_clean", version="v1.0", stage="processed")
    for index, version in enumerate(("1.0.0", "1.0.1", "1.0.2")):
        artifact = tmp_path / f"model-{version}.bin"
        artifact.write_bytes(b"model %d" % index)
        store.models.register(f"m1@{version}", artifact=artifact, inputs=["customers_clean@v1.0:train"],
                              code={"git_commit": "", "git_dirty": None, "entrypoint": "", "workdir": ""},
                              environment={})
    return store


# -- the shared check ------------------------------------------------------------------------
def test_check_text_names_the_field_its_length_and_the_limit() -> None:
    with pytest.raises(InvalidInputError, match=r"^note is 300 characters: at most 256 fit; shorten it$"):
        check_text("n" * 300, what="note", limit=256)
    with pytest.raises(InvalidInputError, match="NUL"):
        check_text("a\x00b", what="note")
    with pytest.raises(InvalidInputError, match=r"note 'sur\\xff' is not valid UTF-8 text"):
        check_text(SURROGATE, what="note")
    assert check_text("données", what="note", limit=7) == "données"
    assert not is_storable("a\x00b") and not is_storable(SURROGATE) and not is_storable(None)


def test_fit_keeps_short_text_and_shortens_long_text_distinctly() -> None:
    assert fit("short", 512) == "short"
    one, two = fit("a" * 600, 512), fit("a" * 601, 512)
    assert len(one) == len(two) == 512 and one != two


# -- bug 1: too long for the column ---------------------------------------------------------
def test_lineage_user_longer_than_its_column_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"^LINEAGE_USER is 300 characters: at most 256"):
        _ = Settings(user="u" * 300).actor


def test_long_lineage_user_is_one_line_from_the_cli_and_writes_nothing(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = db_state(store)
    monkeypatch.setenv("LINEAGE_USER", "u" * 300)
    data = write_parquet(tmp_path / "d.parquet")
    result = CliRunner().invoke(main, ["snapshot", "add", str(data), "--dataset", "d", "--version", "1"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == "error: LINEAGE_USER is 300 characters: at most 256 fit; set a shorter LINEAGE_USER"
    assert db_state(store) == before


def test_directory_snapshot_member_path_longer_than_its_column_is_refused(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    deep = folder.joinpath(*["d" * 200] * 5)  # 1005 characters of folders, then the file
    deep.mkdir(parents=True)
    write_parquet(deep / "part-0000000000000000000.parquet")
    refused(store, lambda: store.snapshots.add(folder, dataset="parts", version="v1"),
            "characters: at most 1024 fit; rename or move the file")


def test_model_artifact_file_path_longer_than_its_column_is_refused(model_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "artifact"
    deep = folder.joinpath(*["d" * 200] * 5)
    deep.mkdir(parents=True)
    (deep / ("w" * 30 + ".bin")).write_bytes(b"weights")
    refused(model_store, lambda: model_store.models.register("m1@2.0.0", artifact=folder),
            "characters: at most 1024 fit")


def test_long_semver_model_version_is_refused(model_store: Store, tmp_path: Path) -> None:
    artifact = tmp_path / "long.bin"
    artifact.write_bytes(b"long")
    version = "4.0.0-" + "p" * 134
    refused(model_store, lambda: model_store.models.register(f"m1@{version}", artifact=artifact),
            "model version of m1 is 140 characters: at most 128 fit")


def test_long_feature_name_and_long_feature_set_version_are_refused(store: Store) -> None:
    schema = json.loads(SCHEMA_2_0.read_text())
    long_name = dict(schema, features={"f" * 150: "float"})
    refused(store, lambda: store.features.register(long_name, MODULE_2_0), "is 150 characters: at most 128 fit")
    long_version = dict(schema, version="4.0.0-" + "p" * 134)
    refused(store, lambda: store.features.register(long_version, MODULE_2_0), "is 140 characters: at most 128 fit")


def test_long_alias_is_refused(model_store: Store) -> None:
    refused(model_store, lambda: model_store.models.promote("m1@1.0.0", alias="a" * 150, reason="r"),
            "150 characters", InvalidNameError)


def test_long_run_id_and_git_commit_are_refused(model_store: Store, tmp_path: Path) -> None:
    artifact = tmp_path / "run.bin"
    artifact.write_bytes(b"run")
    refused(model_store, lambda: model_store.models.register("m1@3.0.0", artifact=artifact, run_id="r" * 65),
            "run id is 65 characters: at most 64 fit")
    code = {"git_commit": "c" * 65, "git_dirty": False, "entrypoint": "", "workdir": ""}
    refused(model_store, lambda: model_store.models.register("m1@3.0.0", artifact=artifact, code=code),
            "git commit is 65 characters: at most 64 fit")


def test_drift_between_two_long_refs_fits_its_subject_and_keeps_the_refs(store: Store, tmp_path: Path) -> None:
    names = ["r" * 128, "c" * 128]
    for index, name in enumerate(names):
        store.snapshots.add(write_parquet(tmp_path / f"{index}.parquet", seed=index), dataset=name,
                            version="v" * 128)
    reference, current = (f"{name}@{'v' * 128}" for name in names)
    store.drift.compare(reference, current)
    event = store.audit.log(action="drift.report")[-1]
    assert len(event.subject) <= 512 and event.subject.startswith(f"{current} vs ")
    assert event.payload["reference"] == reference and event.payload["current"] == current
    assert store.audit.verify_chain().ok


# -- bug 2: NUL ---------------------------------------------------------------------------
def test_nul_in_stored_text_is_refused_on_both_backends(model_store: Store, tmp_path: Path) -> None:
    data = write_parquet(tmp_path / "nul.parquet", seed=7)
    refused(model_store, lambda: model_store.snapshots.add(data, dataset="d", version="v1", note="a\x00b"), "NUL")
    refused(model_store, lambda: model_store.models.promote("m1@1.0.0", alias="production", reason="x\x00y"), "NUL")
    artifact = tmp_path / "nul.bin"
    artifact.write_bytes(b"nul")
    refused(model_store, lambda: model_store.models.register("m1@5.0.0", artifact=artifact, note="a\x00b"), "NUL")
    refused(model_store, lambda: Store.open(user="a\x00b"), "NUL")


def test_lookups_and_filters_given_a_nul_find_nothing(model_store: Store) -> None:
    assert model_store.audit.log(actor="a\x00b") == []
    assert model_store.audit.log(subject="a\x00b", action=SURROGATE) == []
    assert model_store.snapshots.search(text="a\x00b") == []
    assert model_store.snapshots.search(text=SURROGATE) == []
    assert model_store.snapshots.search(datasets=["a\x00b"]) == []
    assert model_store.models.find("m1@1.0.0\x00") is None
    with pytest.raises(InvalidNameError):
        model_store.snapshots.get("customers_clean@v\x00")
    with pytest.raises(LineageError):  # one line, not PostgreSQL's DataError
        trace(model_store, "m1@product\x00ion")


def test_purge_reason_that_is_not_utf8_is_one_line(model_store: Store) -> None:
    before = db_state(model_store)
    result = CliRunner().invoke(main, ["purge", "customers_clean@v1.0", "--reason", SURROGATE, "--yes"])
    assert result.exit_code == 2 and "not valid UTF-8 text" in result.stderr, result.output
    assert db_state(model_store) == before


# -- bug 3: not UTF-8 -----------------------------------------------------------------------
@pytest.mark.parametrize("option", ["--dataset", "--version", "--note", "--transform"])
def test_text_that_is_not_utf8_is_one_line_from_the_cli(store: Store, tmp_path: Path, option: str) -> None:
    data = write_parquet(tmp_path / "s.parquet", seed=5)
    before = db_state(store)
    args = {"--dataset": "d", "--version": "v1", "--note": "", "--transform": ""} | {option: SURROGATE}
    command = ["snapshot", "add", str(data), "--parent", "customers_clean@v1.0"] if option == "--transform" else \
        ["snapshot", "add", str(data)]
    if option == "--transform":
        store.snapshots.add(CLEAN, dataset="customers_clean", version="v1.0")
        before = db_state(store)
    result = CliRunner().invoke(main, [*command, *[part for pair in args.items() for part in pair]])
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert "not valid UTF-8 text" in message and "\n" not in message and "Traceback" not in result.output
    assert db_state(store) == before


def test_reason_that_is_not_utf8_is_one_line_from_the_cli(model_store: Store) -> None:
    before = db_state(model_store)
    result = CliRunner().invoke(main, ["model", "promote", "m1@1.0.0", "--alias", "production", "--reason", SURROGATE])
    assert result.exit_code == 2 and "reason 'sur\\xff' is not valid UTF-8 text" in result.stderr, result.output
    assert db_state(model_store) == before


def test_params_that_are_not_utf8_are_refused(model_store: Store, tmp_path: Path) -> None:
    artifact = tmp_path / "p.bin"
    artifact.write_bytes(b"p")
    refused(model_store, lambda: model_store.models.register("m1@6.0.0", artifact=artifact, params={"k": SURROGATE}),
            "params")


def test_name_that_is_not_utf8_is_refused_by_validate_name() -> None:
    from lineage.naming import validate_name

    with pytest.raises(InvalidNameError, match="not valid UTF-8 text"):
        validate_name(SURROGATE, what="dataset name")


# -- bug 4: --as-of at the end of the calendar ------------------------------------------------
def test_trace_and_impact_as_of_the_last_instant_answer_everything(model_store: Store) -> None:
    last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert {n.ref for n in trace(model_store, "m1@1.0.0", as_of=last).nodes} == \
        {n.ref for n in trace(model_store, "m1@1.0.0").nodes}
    assert len(impact(model_store, "customers_clean@v1.0", as_of=last).nodes) == 4
    for command in (["trace", "m1@1.0.0", "--as-of", "9999-12-31T23:59:59Z"],
                    ["impact", "customers_clean@v1.0", "--as-of", "9999-12-31"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 0, result.output


# -- bug 5: byte order whatever the collation ------------------------------------------------
NAMES = ["b_x", "B", "a", "Ä", "_z", "a-b", "ab"]


@pytest.fixture
def icu_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A store in a temporary PostgreSQL database whose collation is ICU en-US (not byte order)."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    import psycopg

    name = f"lineage_icu_{uuid.uuid4().hex[:12]}"
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu "
                           "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LINEAGE_DB_URL", PG_URL.rsplit("/", 1)[0] + f"/{name}")
    opened = Store.init()
    try:
        yield opened
    finally:
        opened.close()
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_the_icu_database_really_sorts_otherwise(icu_store: Store) -> None:
    """The check below is only meaningful when the database's own order differs from byte order."""
    with Database(icu_store.db.url).engine.connect() as connection:
        values = ", ".join(f"('{n}')" for n in NAMES)
        ordered = [r[0] for r in connection.execute(text(f"SELECT v FROM (VALUES {values}) t(v) ORDER BY v"))]
    assert ordered != sorted(NAMES)


def test_lists_are_in_byte_order_whatever_the_collation(icu_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    for index, name in enumerate(NAMES):
        icu_store.snapshots.add(write_parquet(tmp_path / f"{index}.parquet", seed=index), dataset=name, version="v1")
        write_parquet(folder / f"{name}.parquet", seed=index)
    expected = sorted(NAMES, key=lambda n: n.encode("utf-8"))
    assert icu_store.snapshots.dataset_names() == expected
    assert [s.dataset for s in icu_store.snapshots.list()] == expected
    assert icu_store.snapshots.search() == [f"{n}@v1" for n in expected]
    info = icu_store.snapshots.add(folder, dataset="parts", version="v1")
    with icu_store.objects.open(info.sha256) as handle:
        manifest = parse_manifest(handle.read())
    assert [f["path"] for f in icu_store.snapshots.get("parts@v1").files] == [e.path for e in manifest]


# -- bug 6: the holder replaced, read under the write lock -------------------------------------
def _promote_first_from_elsewhere(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    """Another writer promotes ``m1@version`` just before this process's next write transaction starts."""
    original = Database.session
    fired: list[bool] = []

    def session(self: Database, *, write: bool = False):  # type: ignore[no-untyped-def]
        if write and not fired:
            fired.append(True)
            with Store.open() as other:
                other.models.promote(f"m1@{version}", alias="production", reason="concurrent")
        return original(self, write=write)

    monkeypatch.setattr(Database, "session", session)


def test_promote_reports_the_holder_it_replaced(model_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    model_store.models.promote("m1@1.0.0", alias="production", reason="first")
    _promote_first_from_elsewhere(monkeypatch, "1.0.2")
    result = CliRunner().invoke(main, ["model", "promote", "m1@1.0.1", "--alias", "production", "--reason", "r"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "m1@production -> 1.0.1 (was 1.0.2)"


def test_promote_returns_the_previous_holder(model_store: Store) -> None:
    assert model_store.models.promote("m1@1.0.0", alias="production", reason="first").previous is None
    assert model_store.models.promote("m1@1.0.1", alias="production", reason="second").previous == "1.0.0"


def test_rollback_chooses_its_target_under_the_write_lock(model_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    model_store.models.promote("m1@1.0.0", alias="production", reason="first")
    model_store.models.promote("m1@1.0.1", alias="production", reason="second")
    _promote_first_from_elsewhere(monkeypatch, "1.0.2")
    result = model_store.models.rollback("m1", alias="production", reason="broke")
    assert result["from_version"] == "1.0.2" and result["to_version"] == "1.0.1"
    assert result["move"].previous == "1.0.2"
    assert model_store.models.get("m1@production").version == "1.0.1"


def test_rollback_refusals_write_nothing(model_store: Store) -> None:
    model_store.models.promote("m1@1.0.0", alias="production", reason="first")
    refused(model_store, lambda: model_store.models.rollback("m1", alias="production", reason="r"),
            "no other holder")
    refused(model_store, lambda: model_store.models.rollback("m1", alias="production", reason="r", to="1.0.0"),
            "already holds")
    refused(model_store, lambda: model_store.models.rollback("m1", alias="production", reason="r", to="9.9.9"),
            "no version")
