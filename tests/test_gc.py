"""`lineage gc` removes only unreferenced blobs, keeps young ones, and is audited (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from click.testing import CliRunner

from lineage.cli import main
from lineage.gc import collect
from lineage.store import Store
from tests.factories import write_csv, write_parquet


def _age(store: Store, digest: str, seconds: float) -> None:
    path = store.objects.key_path(digest)
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_gc_removes_orphans_only_and_keeps_everything_reachable(store: Store, data_dir: Path) -> None:
    folder = data_dir / "parts"
    folder.mkdir()
    write_parquet(folder / "a.parquet", seed=1)
    write_parquet(folder / "b.parquet", seed=2)
    store.snapshots.add(folder, dataset="dir", version="1")
    store.snapshots.add(write_csv(data_dir / "c.csv"), dataset="csv", version="1")
    artifact = data_dir / "model.bin"
    artifact.write_bytes(b"model bytes")
    store.models.register("m@1.0.0", artifact=artifact, inputs=["csv@1"])
    orphan = store.objects.put_bytes(b"left behind by a crash").sha256
    young = store.objects.put_bytes(b"a registration in flight").sha256
    _age(store, orphan, 7200)

    dry = collect(store)
    assert dry.unreferenced == [orphan] and dry.kept_young == [young] and store.objects.exists(orphan)
    done = collect(store, remove=True)
    assert done.unreferenced == [orphan]
    assert not store.objects.exists(orphan) and store.objects.exists(young)
    assert all(r.ok for r in store.snapshots.verify())
    assert store.objects.verify(store.models.get("m@1.0.0").artifact["sha256"]) is None
    assert store.audit.log(action="store.gc")[0].payload["removed"] == [orphan]
    assert store.audit.verify_chain().ok


def test_gc_cli_dry_run_by_default(sqlite_store: Store) -> None:
    orphan = sqlite_store.objects.put_bytes(b"orphan").sha256
    _age(sqlite_store, orphan, 7200)
    result = CliRunner().invoke(main, ["gc"])
    assert result.exit_code == 0 and "would remove (pass --yes) 1" in result.output
    assert sqlite_store.objects.exists(orphan)
    assert CliRunner().invoke(main, ["gc", "--yes"]).exit_code == 0
    assert not sqlite_store.objects.exists(orphan)


def test_gc_refused_when_read_only(sqlite_store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LINEAGE_READ_ONLY", "1")
    result = CliRunner().invoke(main, ["gc", "--yes"])
    assert result.exit_code == 2 and "read-only" in result.stderr
