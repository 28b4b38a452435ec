"""A store made by the first release upgrades in place: records, blobs and audit chain intact."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from lineage.cli import main
from lineage.db import SCHEMA_HEAD
from lineage.errors import SchemaVersionError
from lineage.store import Store

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "store_v0001"


@pytest.fixture
def old_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    shutil.copytree(FIXTURE, home)
    monkeypatch.setenv("LINEAGE_HOME", str(home))
    return home


def test_old_store_is_refused_until_migrated(old_home: Path) -> None:
    with pytest.raises(SchemaVersionError, match=f"at revision 0001, this release expects {SCHEMA_HEAD}: run `lineage migrate`"):
        Store.open()
    result = CliRunner().invoke(main, ["snapshot", "list"])
    assert result.exit_code == 2 and "lineage migrate" in result.stderr


def test_migrate_keeps_every_record_blob_and_event(old_home: Path) -> None:
    result = CliRunner().invoke(main, ["migrate"])
    assert result.exit_code == 0, result.output
    with Store.open() as opened:
        snapshot = opened.snapshots.get("small@v1")
        assert snapshot.sha256 == "9f3c8c666ed2b5728820ef5d2c8fb071aced6e0a6771a2545d64812e00e1a600"
        assert snapshot.created_by == "first-release" and snapshot.note == "made by the first release"
        assert opened.snapshots.verify("small@v1")[0].ok
        events = opened.audit.log()
        assert [e.action for e in events] == ["store.init", "dataset.create", "snapshot.add", "store.migrate"]
        assert events[-1].payload == {"from": "0001", "to": SCHEMA_HEAD}
        assert opened.audit.verify_chain().ok
        # the new tables work on the upgraded store
        assert opened.features.list() == [] and opened.models.list() == []
        artifact = old_home / "m.bin"
        artifact.write_bytes(b"model")
        opened.models.register("m@1.0.0", artifact=artifact, inputs=["small@v1"])
        assert opened.audit.verify_chain().ok
