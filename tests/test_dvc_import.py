"""`lineage import dvc` against a real DVC repository built here with the real `dvc` package.

The repository (built once per module: `git init`, `dvc init`, `dvc add` of a CSV file and of
a folder of Parquet files, a two-stage `dvc.yaml` run with `dvc repro`) is copied for each
test, which may then change its workspace or cache. Expected values come from the files DVC
wrote and from hashlib over the bytes, never from the importer's own parsing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func
from sqlmodel import select

from lineage.cli import main
from lineage.dvc_import import import_dvc
from lineage.store import Store
from lineage.tables import Edge, SnapshotDigest
from tests.factories import write_csv, write_parquet

pytest.importorskip("dvc", reason="dvc is not importable")

OLD_MTIME = 1_767_225_600  # 2026-01-01: old enough for the hash cache (never "racy")

PREPARE = """\
import pyarrow.compute as pc, pyarrow.csv as csv, pyarrow.parquet as pq
table = csv.read_csv("data/raw.csv")
pq.write_table(table.filter(pc.greater(table["amount"], 45.0)), "data/prepared.parquet")
"""
FEATURIZE = """\
import json, pyarrow as pa, pyarrow.parquet as pq
prepared = pq.read_table("data/prepared.parquet")
parts = pq.read_table("data/parts")
features = pa.table({"customer_id": prepared["customer_id"], "double_amount": pa.compute.multiply(prepared["amount"], 2)})
pq.write_table(features, "data/features.parquet")
json.dump({"rows": features.num_rows, "parts_rows": parts.num_rows}, open("metrics.json", "w"))
"""


def _dvc(repo: Path, *args: str) -> None:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"dvc {' '.join(args)}: {done.stdout}{done.stderr}"


def _build_repo(root: Path) -> Path:
    repo = root / "repo"
    (repo / "data" / "parts").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    _dvc(repo, "init", "-q")
    write_csv(repo / "data" / "raw.csv", rows=300)
    write_parquet(repo / "data" / "parts" / "p0.parquet", rows=50, seed=1)
    write_parquet(repo / "data" / "parts" / "p1.parquet", rows=60, seed=2)
    (repo / "data" / "parts" / "_SUCCESS").write_bytes(b"")  # as Spark writes: checked, not data
    _dvc(repo, "add", "-q", "data/raw.csv", "data/parts")
    (repo / "prepare.py").write_text(PREPARE)
    (repo / "featurize.py").write_text(FEATURIZE)
    python = sys.executable
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": {
        "prepare": {"cmd": f"{python} prepare.py", "deps": ["prepare.py", "data/raw.csv"],
                    "outs": ["data/prepared.parquet"]},
        "featurize": {"cmd": f"{python} featurize.py",
                      "deps": ["featurize.py", "data/prepared.parquet", "data/parts"],
                      "outs": ["data/features.parquet"], "metrics": [{"metrics.json": {"cache": False}}]},
    }}))
    _dvc(repo, "repro", "-q")
    return repo


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """State A: everything added and reproduced. State B: raw.csv changed and re-added, pipeline not re-run."""
    root = tmp_path_factory.mktemp("dvc")
    repo_a = _build_repo(root)
    repo_b = root / "repo-b"
    shutil.copytree(repo_a, repo_b, symlinks=True)
    write_csv(repo_b / "data" / "raw.csv", rows=310, seed=7)
    _dvc(repo_b, "add", "-q", "data/raw.csv")
    return {"a": repo_a, "b": repo_b}


@pytest.fixture
def repo(built: dict[str, Path], tmp_path: Path) -> Path:
    """A private copy of state A."""
    return _copy(built["a"], tmp_path / "repo")


@pytest.fixture
def repo_b(built: dict[str, Path], tmp_path: Path) -> Path:
    return _copy(built["b"], tmp_path / "repo-b")


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _lock(repo: Path) -> dict[str, Any]:
    return _yaml(repo / "dvc.lock")["stages"]


def _recorded_md5(repo: Path) -> dict[str, str]:
    """What DVC wrote for every output, by path."""
    found = {f"data/{out['path']}": out["md5"] for name in ("raw.csv", "parts")
             for out in _yaml(repo / "data" / f"{name}.dvc")["outs"]}
    for stage in _lock(repo).values():
        found.update({out["path"]: out["md5"] for out in stage["outs"]})
    return found


def _cache_object(repo: Path, md5: str) -> Path:
    return repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def _state(store: Store) -> tuple[Any, ...]:
    """Everything an import may write: rows of the tables it touches, audit head, stored blobs."""
    with store.db.session() as session:
        digests = session.exec(select(func.count()).select_from(SnapshotDigest)).one()
        edges = session.exec(select(func.count()).select_from(Edge)).one()
    blobs = sorted(p.name for p in (store.home / "objects").rglob("*") if p.is_file())
    audit = [e.hash for e in store.audit.log()]
    return store.snapshots.counts(), digests, edges, audit, blobs


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def _refused(store: Store, args: list[str], expected: str) -> str:
    before = _state(store)
    result = _cli(*args)
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.count("\n") == 0 and message.startswith("error: ") and expected in message, message
    assert "Traceback" not in result.output
    assert _state(store) == before
    return message


# -- what an import registers -------------------------------------------------------------
def test_import_registers_each_table_with_the_sha256_of_its_bytes(store: Store, repo: Path) -> None:
    result = import_dvc(store, repo)
    assert result.ok and result.written
    by_path = {out.path: out for out in result.outs}
    assert {p: o.status for p, o in by_path.items()} == {
        "data/raw.csv": "registered", "data/parts": "registered", "data/prepared.parquet": "registered",
        "data/features.parquet": "registered", "metrics.json": "skipped",
    }
    md5 = _recorded_md5(repo)
    for path in ("data/raw.csv", "data/prepared.parquet", "data/features.parquet"):
        info = store.snapshots.get(by_path[path].ref)
        assert info.sha256 == hashlib.sha256((repo / path).read_bytes()).hexdigest()
        assert info.ref == f"{path.replace('/', '_')}@md5-{md5[path][:12]}"
        assert info.stored and store.objects.exists(info.sha256)
    parts = store.snapshots.get("data_parts")
    assert parts.format == "parquet-dir" and parts.stage == "raw"
    assert {f["path"]: f["sha256"] for f in parts.files} == {
        name: hashlib.sha256((repo / "data" / "parts" / name).read_bytes()).hexdigest()
        for name in ("p0.parquet", "p1.parquet")  # _SUCCESS is checked against DVC's listing, not data
    }
    assert parts.rows == 110
    assert store.snapshots.get("data_prepared.parquet").stage == "processed"
    assert "not a Parquet or CSV" in by_path["metrics.json"].detail
    assert all(r.ok for r in store.snapshots.verify())
    assert store.audit.verify_chain().ok
    assert [e.action for e in store.audit.log()][-1] == "import.dvc"


def test_md5_rows_are_what_dvc_recorded_and_what_the_bytes_hash_to(store: Store, repo: Path) -> None:
    import_dvc(store, repo)
    md5 = _recorded_md5(repo)
    for path in ("data/raw.csv", "data/prepared.parquet", "data/features.parquet"):
        digests = store.snapshots.digests(path.replace("/", "_"))
        assert [d.to_json() for d in digests] == [{"path": "", "algorithm": "md5", "digest": md5[path], "origin": "dvc"}]
        assert md5[path] == hashlib.md5((repo / path).read_bytes()).hexdigest()
    listing = json.loads(_cache_object(repo, md5["data/parts"]).read_bytes())
    digests = {d.path: d.digest for d in store.snapshots.digests("data_parts")}
    assert digests == {"": md5["data/parts"], **{e["relpath"]: e["md5"] for e in listing if e["relpath"] != "_SUCCESS"}}
    for name in ("p0.parquet", "p1.parquet"):
        assert digests[name] == hashlib.md5((repo / "data" / "parts" / name).read_bytes()).hexdigest()
    events = {e.subject: e.payload for e in store.audit.log() if e.action == "snapshot.add"}
    assert events[f"data_raw.csv@md5-{md5['data/raw.csv'][:12]}"]["digests"][0]["digest"] == md5["data/raw.csv"]


def test_pipeline_outputs_link_to_their_deps_with_the_stage_command(store: Store, repo: Path) -> None:
    import_dvc(store, repo)
    lock = _lock(repo)
    md5 = _recorded_md5(repo)
    raw, parts = (f"data_raw.csv@md5-{md5['data/raw.csv'][:12]}", f"data_parts@md5-{md5['data/parts'][:12]}")
    prepared = store.snapshots.get("data_prepared.parquet")
    assert prepared.parents == [raw] and prepared.transform == lock["prepare"]["cmd"]
    features = store.snapshots.get("data_features.parquet")
    assert sorted(features.parents) == sorted([prepared.ref, parts])
    assert features.transform == lock["featurize"]["cmd"]
    assert "featurize.py (md5 " in features.note  # the script dep is named, not a snapshot
    assert store.snapshots.get("data_raw.csv").parents == []


def test_importing_again_recognises_every_output_and_writes_nothing(store: Store, repo: Path) -> None:
    for path in repo.rglob("*"):
        if ".git" not in path.parts:
            os.utime(path, (OLD_MTIME, OLD_MTIME), follow_symlinks=False)  # the hash cache keeps old files
    first = import_dvc(store, repo)
    before = _state(store)
    again = import_dvc(store, repo)
    assert again.ok and not again.written
    assert [(o.path, o.status, o.ref, o.sha256) for o in again.outs] == [
        (o.path, "existing" if o.status == "registered" else o.status, o.ref, o.sha256) for o in first.outs
    ]
    assert _state(store) == before


def test_a_snapshot_registered_before_is_recognised_and_gains_dvc_md5(store: Store, repo: Path) -> None:
    before = store.snapshots.add(repo / "data" / "raw.csv", dataset="data_raw.csv", version="v1")
    result = import_dvc(store, repo)
    raw = next(o for o in result.outs if o.path == "data/raw.csv")
    assert (raw.status, raw.ref, raw.sha256) == ("existing", "data_raw.csv@v1", before.sha256)
    assert [d.digest for d in store.snapshots.digests("data_raw.csv@v1")] == [_recorded_md5(repo)["data/raw.csv"]]
    assert [e.action for e in store.audit.log(subject="data_raw.csv@v1")] == ["snapshot.add", "snapshot.digests"]
    assert store.snapshots.get("data_prepared.parquet").parents == ["data_raw.csv@v1"]


def test_changed_data_becomes_a_new_version_of_its_dataset(store: Store, repo: Path, repo_b: Path) -> None:
    import_dvc(store, repo)
    result = import_dvc(store, repo_b)
    statuses = {o.path: o.status for o in result.outs}
    assert statuses["data/raw.csv"] == "registered"
    assert statuses["data/prepared.parquet"] == statuses["data/parts"] == "existing"
    versions = [s.version for s in store.snapshots.list(dataset="data_raw.csv")]
    md5_a, md5_b = _recorded_md5(repo)["data/raw.csv"], _recorded_md5(repo_b)["data/raw.csv"]
    assert versions == [f"md5-{md5_a[:12]}", f"md5-{md5_b[:12]}"]
    assert store.snapshots.get("data_raw.csv").sha256 == hashlib.sha256((repo_b / "data/raw.csv").read_bytes()).hexdigest()


def test_a_stale_stage_links_to_the_version_it_ran_on(store: Store, repo: Path, repo_b: Path) -> None:
    (repo / "dvc.lock").unlink()  # first only the `dvc add` outputs, at state A
    import_dvc(store, repo)
    result = import_dvc(store, repo_b)  # raw.csv changed since prepare ran on it
    prepared = store.snapshots.get("data_prepared.parquet")
    ran_on = next(d["md5"] for d in _lock(repo_b)["prepare"]["deps"] if d["path"] == "data/raw.csv")
    assert prepared.parents == [f"data_raw.csv@md5-{ran_on[:12]}"]
    assert store.snapshots.get("data_raw.csv").version != f"md5-{ran_on[:12]}"  # the latest is B
    assert result.warnings == []


def test_a_stale_stage_without_its_input_version_gets_no_link_and_a_warning(store: Store, repo_b: Path) -> None:
    result = import_dvc(store, repo_b)
    assert result.ok
    assert store.snapshots.get("data_prepared.parquet").parents == []
    assert len(result.warnings) == 1 and "data/raw.csv" in result.warnings[0] and "no parent link" in result.warnings[0]


def test_outputs_missing_from_the_workspace_are_read_from_the_dvc_cache(store: Store, repo: Path) -> None:
    expected = {p: hashlib.sha256((repo / p).read_bytes()).hexdigest()
                for p in ("data/raw.csv", "data/prepared.parquet", "data/features.parquet")}
    parts = {n: hashlib.sha256((repo / "data/parts" / n).read_bytes()).hexdigest() for n in ("p0.parquet", "p1.parquet")}
    for path in expected:
        (repo / path).unlink()
    shutil.rmtree(repo / "data" / "parts")
    result = import_dvc(store, repo)
    assert result.ok
    assert {o.path: o.source for o in result.outs if o.ref} == dict.fromkeys([*expected, "data/parts"], "cache")
    for path, sha256 in expected.items():
        info = store.snapshots.get(path.replace("/", "_"))
        assert info.sha256 == sha256 and info.source_uri == str(repo / path)
    assert {f["path"]: f["sha256"] for f in store.snapshots.get("data_parts").files} == parts
    assert store.snapshots.get("data_features.parquet").parents  # links do not need the workspace
    assert all(r.ok for r in store.snapshots.verify())


def test_the_cache_folder_set_in_the_dvc_config_is_used(store: Store, repo: Path, tmp_path: Path) -> None:
    shutil.move(repo / ".dvc" / "cache", tmp_path / "shared-cache")
    (repo / ".dvc" / "config.local").write_text("[cache]\n    dir = ../../shared-cache\n")  # as `dvc cache dir --local` writes it
    (repo / "data" / "raw.csv").unlink()
    raw = next(o for o in import_dvc(store, repo).outs if o.path == "data/raw.csv")
    assert raw.status == "registered" and raw.source == "cache"


def test_dvc2_entries_are_checked_with_the_plain_md5_and_read_from_the_old_cache_layout(store: Store, repo: Path) -> None:
    dvc_file = repo / "data" / "raw.csv.dvc"
    document = _yaml(dvc_file)
    md5 = document["outs"][0].pop("hash") and document["outs"][0]["md5"]
    dvc_file.write_text(yaml.safe_dump(document))
    old = repo / ".dvc" / "cache" / md5[:2] / md5[2:]
    old.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(_cache_object(repo, md5), old)
    (repo / "data" / "raw.csv").unlink()
    result = import_dvc(store, repo)
    raw = next(o for o in result.outs if o.path == "data/raw.csv")
    assert raw.status == "registered" and raw.source == "cache"
    assert store.snapshots.get(raw.ref).sha256 == hashlib.sha256(old.read_bytes()).hexdigest()


def test_folder_md5_is_computed_as_dvc_computes_it() -> None:
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.meta import Meta
    from dvc_data.hashfile.tree import Tree

    from lineage.dvc_import.dvchash import listing_md5

    members = {"b/z.parquet": "0" * 32, "a.parquet": "1" * 32, "é/ü.parquet": "2" * 32, "a b.parquet": "3" * 32}
    tree = Tree()
    for path, md5 in members.items():
        tree.add(tuple(path.split("/")), Meta(), HashInfo("md5", md5))
    tree.digest()
    assert listing_md5(members.items()) == tree.hash_info.value


# -- findings: nothing written, exit 1 ----------------------------------------------------
def test_a_tampered_workspace_file_is_a_finding_and_nothing_is_written(store: Store, repo: Path) -> None:
    with open(repo / "data" / "raw.csv", "a") as handle:
        handle.write("999,1.0,north,c999,True\n")
    before = _state(store)
    result = _cli("import", "dvc", str(repo))
    assert result.exit_code == 1, result.output
    actual = hashlib.md5((repo / "data" / "raw.csv").read_bytes()).hexdigest()
    line = next(line for line in result.stdout.splitlines() if line.startswith("MISMATCH"))
    assert "data/raw.csv (data/raw.csv.dvc)" in line and actual in line and _recorded_md5(repo)["data/raw.csv"] in line
    assert "nothing was imported: 1 output does not match" in result.stderr
    assert "Traceback" not in result.output
    assert _state(store) == before
    staging = store.home / "objects" / "tmp"
    assert not staging.exists() or not any(staging.iterdir())  # staged copies were discarded


def test_a_tampered_folder_member_is_named_in_the_finding(store: Store, repo: Path) -> None:
    member = repo / "data" / "parts" / "p1.parquet"
    member.chmod(0o644)
    write_parquet(member, rows=61, seed=2)  # still a valid Parquet file, other bytes
    before = _state(store)
    result = _cli("import", "dvc", str(repo), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["written"] is False and report["counts"]["mismatch"] == 1
    parts = next(o for o in report["outs"] if o["path"] == "data/parts")
    assert parts["status"] == "mismatch" and parts["detail"].startswith("p1.parquet has md5 ")
    assert next(o for o in report["outs"] if o["path"] == "data/raw.csv")["status"] == "not-written"
    assert _state(store) == before


def test_a_dvc2_mismatch_explains_the_crlf_rule(store: Store, repo: Path) -> None:
    dvc_file = repo / "data" / "raw.csv.dvc"
    document = _yaml(dvc_file)
    del document["outs"][0]["hash"]
    dvc_file.write_text(yaml.safe_dump(document))
    raw = repo / "data" / "raw.csv"
    raw.write_bytes(raw.read_bytes().replace(b"\n", b"\r\n"))
    result = import_dvc(store, repo)
    assert not result.ok and not result.written
    assert "dvc cache migrate --dvc-files" in next(o.detail for o in result.outs if o.status == "mismatch")


# -- bad input: one line, exit 2, nothing written -----------------------------------------
def test_a_path_that_does_not_exist(store: Store, tmp_path: Path) -> None:
    _refused(store, ["import", "dvc", str(tmp_path / "nowhere")], "does not exist")


def test_a_folder_that_is_not_a_dvc_repository(store: Store, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    _refused(store, ["import", "dvc", str(tmp_path / "plain")], "is not a DVC repository (no .dvc folder)")


def test_a_dvc_repository_that_tracks_nothing(store: Store, repo: Path) -> None:
    for path in [*repo.rglob("*.dvc"), repo / "dvc.lock"]:
        if path.is_file():
            path.unlink()
    _refused(store, ["import", "dvc", str(repo)], "has no .dvc files and no dvc.lock")


def test_malformed_yaml_in_a_dvc_file(store: Store, repo: Path) -> None:
    (repo / "data" / "raw.csv.dvc").write_text("outs:\n- md5: [unclosed\n  path: raw.csv\n")
    message = _refused(store, ["import", "dvc", str(repo)], "data/raw.csv.dvc is not valid YAML")
    assert "line" in message


def test_a_lock_file_without_stages(store: Store, repo: Path) -> None:
    (repo / "dvc.lock").write_text("schema: '2.0'\nprepare: {}\n")
    _refused(store, ["import", "dvc", str(repo)], "dvc.lock has no `stages` mapping")


def test_an_output_in_neither_workspace_nor_cache(store: Store, repo: Path) -> None:
    md5 = _recorded_md5(repo)["data/prepared.parquet"]
    (repo / "data" / "prepared.parquet").unlink()
    _cache_object(repo, md5).unlink()
    _refused(store, ["import", "dvc", str(repo)],
             "data/prepared.parquet (dvc.lock:prepare) is neither in the workspace nor in the DVC cache")


def test_no_copy_needs_the_workspace_copy(store: Store, repo: Path) -> None:
    (repo / "data" / "raw.csv").unlink()
    _refused(store, ["import", "dvc", str(repo), "--no-copy"], "only in the DVC cache")


# -- reading the result -------------------------------------------------------------------
def test_snapshot_show_prints_dvc_md5_next_to_sha256(store: Store, repo: Path) -> None:
    result = _cli("import", "dvc", str(repo))
    assert result.exit_code == 0, result.output
    assert "registered  data_parts@md5-" in result.stdout and "skipped     metrics.json: " in result.stdout
    md5 = _recorded_md5(repo)["data/parts"]
    shown = json.loads(_cli("snapshot", "show", "data_parts", "--json").stdout)
    assert shown["digests"][0] == {"path": "", "algorithm": "md5", "digest": md5, "origin": "dvc"}
    assert {d["path"] for d in shown["digests"][1:]} == {"p0.parquet", "p1.parquet"}
    text = _cli("snapshot", "show", "data_parts").stdout
    assert f"md5 (dvc)    {md5}" in text


def test_no_copy_records_the_workspace_files_where_they_lie(store: Store, repo: Path) -> None:
    result = import_dvc(store, repo, copy=False, prefix="churn_")
    assert result.ok
    raw = store.snapshots.get("churn_data_raw.csv")
    assert not raw.stored and not store.objects.exists(raw.sha256)
    assert raw.source_uri == str(repo / "data" / "raw.csv")
