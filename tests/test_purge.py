"""`lineage purge` erases a snapshot's bytes and keeps its record, on SQLite and PostgreSQL.

Built with the real services: a raw → processed → features → model chain (as in
test_graph.py), directory snapshots whose members share bytes with other records, and
crash simulations at each step of a purge.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from lineage.cli import main
from lineage.errors import InvalidInputError, NotFoundError, PurgedError, ReadOnlyError
from lineage.gc import collect
from lineage.graph import trace
from lineage.integrity import verify_store
from lineage.models.reproduce import reproduce
from lineage.purge import purge
from lineage.snapshot_data import read_table
from lineage.store import Store
from tests.factories import write_parquet
from tests.test_graph import FEATURES, chain, register_model  # noqa: F401 - chain is a fixture

RAW = "customers_raw@2026_02_01"
REASON = "erasure request #17 (GDPR art. 17)"


def state(store: Store) -> tuple[tuple[int, str], list[str]]:
    """The audit head and the sorted blob listing: equal before and after means nothing was written."""
    head = store.audit.log(newest_first=True, limit=1)[0]
    return (head.seq, head.hash), sorted(store.objects.iter_keys())


def directory(folder: Path, seeds: dict[str, int]) -> Path:
    folder.mkdir()
    for name, seed in seeds.items():
        write_parquet(folder / f"{name}.parquet", rows=30, seed=seed)
    return folder


@pytest.fixture
def shared(store: Store, data_dir: Path) -> Store:
    """dir@1 (members a, b, c); other@1 holds a's bytes, model m@1.0.0's artifact is b's bytes; c is dir@1's alone."""
    folder = directory(data_dir / "parts", {"a": 1, "b": 2, "c": 3})
    store.snapshots.add(folder, dataset="dir", version="1", stage="raw")
    shutil.copy(folder / "a.parquet", data_dir / "copy_of_a.parquet")
    store.snapshots.add(data_dir / "copy_of_a.parquet", dataset="other", version="1", stage="raw")
    store.snapshots.add(write_parquet(data_dir / "child.parquet", rows=10, seed=9), dataset="child", version="1",
                        stage="processed", parents=["dir@1"])
    store.models.register("m@1.0.0", artifact=folder / "b.parquet", inputs=["child@1"])
    return store


def members(store: Store, ref: str) -> dict[str, str]:
    return {f["path"]: f["sha256"] for f in store.snapshots.get(ref).files}


# -- dry run and purge --------------------------------------------------------------------------
def test_dry_run_lists_blobs_bytes_and_dependents_and_writes_nothing(shared: Store) -> None:
    before = state(shared)
    plan = purge(shared, "dir@1", reason=REASON)
    assert state(shared) == before and shared.snapshots.get("dir@1").purged is None
    files = members(shared, "dir@1")
    manifest = shared.snapshots.get("dir@1").sha256
    assert {b.sha256 for b in plan.erase} == {manifest, files["c.parquet"]}
    assert {b.sha256: b.shared_with for b in plan.shared} == {files["a.parquet"]: ("other@1",),
                                                              files["b.parquet"]: ("m@1.0.0",)}
    assert plan.erase_bytes == sum(b.size_bytes for b in plan.erase) > 0
    assert [d["ref"] for d in plan.dependents] == ["m@1.0.0"] and plan.derived == ("child@1",)
    doc = plan.to_json()
    assert doc["dry_run"] is True and doc["purged"] is None and doc["erased"] == []


def test_purge_erases_only_unshared_blobs_and_keeps_record_hashes_and_lineage(shared: Store) -> None:
    files = members(shared, "dir@1")
    before = shared.snapshots.get("dir@1")
    done = purge(shared, "dir@1", reason=f"  {REASON}  ", yes=True)
    assert set(done.erased) == {before.sha256, files["c.parquet"]}
    assert not shared.objects.exists(before.sha256) and not shared.objects.exists(files["c.parquet"])
    assert shared.objects.exists(files["a.parquet"]) and shared.objects.exists(files["b.parquet"])
    after = shared.snapshots.get("dir@1")
    assert (after.sha256, after.files, after.rows, after.fingerprint) == (before.sha256, before.files, before.rows,
                                                                          before.fingerprint)
    assert after.purged is not None and after.purged.reason == REASON and after.purged.by == "tester"
    assert after.purged.blobs == 2 and after.purged.bytes == done.erased_bytes
    assert shared.snapshots.get("child@1").parents == ["dir@1"]
    event = shared.audit.log(action="snapshot.purge")[0]
    assert event.subject == "dir@1" and event.payload["reason"] == REASON
    assert set(event.payload["erase"]) == set(done.erased)
    assert event.payload["kept_shared"] == {files["a.parquet"]: ["other@1"], files["b.parquet"]: ["m@1.0.0"]}
    assert shared.audit.verify_chain().ok
    assert all(r.ok for r in shared.snapshots.verify()) and verify_store(shared).ok  # shared blobs intact
    shared.snapshots.checkout("other@1", shared.home / "a.parquet")


def test_purging_again_says_already_purged_and_writes_nothing(shared: Store) -> None:
    purge(shared, "dir@1", reason=REASON, yes=True)
    before = state(shared)
    again = purge(shared, "dir@1", reason="another reason", yes=True)
    assert again.already_purged and not again.acted and again.reason == REASON and again.erase == []
    assert state(shared) == before


def test_reads_of_a_purged_snapshot_refuse_naming_when_who_and_why(shared: Store) -> None:
    profile = shared.drift.profile("other@1")  # stored before the purge
    purge(shared, "other@1", reason=REASON, yes=True)
    info = shared.snapshots.get("other@1")
    with pytest.raises(PurgedError, match=rf"cannot check out other@1: bytes purged on .* by tester: {re.escape(REASON)}"):
        shared.snapshots.checkout("other@1", shared.home / "out.parquet")
    assert not (shared.home / "out.parquet").exists()
    with pytest.raises(PurgedError, match="bytes purged on"):
        read_table(shared, info)
    with pytest.raises(PurgedError, match="cannot compute drift on other@1"):
        shared.drift.compare("other@1", "dir@1", save=False)
    assert shared.drift.profile("other@1") == profile  # the stored aggregate profile stays readable
    with pytest.raises(PurgedError):
        shared.drift.profile("other@1", refresh=True)
    assert shared.objects.exists(members(shared, "dir@1")["a.parquet"])  # dir@1 still holds a's bytes


def test_verify_and_the_store_check_report_purged_and_pass(shared: Store) -> None:
    purge(shared, "dir@1", reason=REASON, yes=True)
    result = shared.snapshots.verify("dir@1")[0]
    assert result.ok and result.problem is None and result.purged is not None
    assert result.to_json()["purged"]["reason"] == REASON
    report = verify_store(shared)
    assert report.ok and [p["ref"] for p in report.purged] == ["dir@1"]
    assert not any("dir@1" in b.ref for b in report.blobs)
    assert shared.audit.log(action="store.verify")[-1].payload["purged"] == 1


def test_gc_finishes_nothing_when_purge_completed_and_never_touches_shared_blobs(shared: Store) -> None:
    purge(shared, "dir@1", reason=REASON, yes=True)
    listing = sorted(shared.objects.iter_keys())
    result = collect(shared, remove=True, grace_seconds=0)
    assert result.unreferenced == [] and sorted(shared.objects.iter_keys()) == listing
    assert shared.snapshots.get("dir@1").purged is not None and verify_store(shared).ok


def test_same_bytes_registered_again_under_a_new_version_do_not_revive_the_purged_one(
        store: Store, data_dir: Path) -> None:
    path = write_parquet(data_dir / "people.parquet", rows=25, seed=4)
    first = store.snapshots.add(path, dataset="people", version="1")
    purge(store, "people@1", reason=REASON, yes=True)
    assert not store.objects.exists(first.sha256)
    assert store.snapshots.add(path, dataset="people", version="1").purged is not None  # names are immutable
    assert not store.objects.exists(first.sha256)
    again = store.snapshots.add(path, dataset="people", version="2")
    assert again.sha256 == first.sha256 and again.purged is None and store.objects.exists(first.sha256)
    with pytest.raises(PurgedError):
        store.snapshots.checkout("people@1", data_dir / "out.parquet")
    store.snapshots.checkout("people@2", data_dir / "out.parquet")
    assert collect(store, remove=True, grace_seconds=0).unreferenced == []
    assert store.objects.exists(first.sha256) and verify_store(store).ok


def test_a_no_copy_snapshot_is_tombstoned_with_nothing_to_erase(store: Store, data_dir: Path) -> None:
    path = write_parquet(data_dir / "outside.parquet", rows=10, seed=5)
    store.snapshots.add(path, dataset="outside", version="1", copy=False)
    done = purge(store, "outside@1", reason=REASON, yes=True)
    assert done.erased == () and done.source_exists and done.tombstone is not None
    result = store.snapshots.verify("outside@1")[0]
    assert result.ok and "still holds the purged bytes" in (result.source_problem or "")
    with pytest.raises(PurgedError):
        store.snapshots.checkout("outside@1", data_dir / "out.parquet")


# -- crash safety -------------------------------------------------------------------------------
def test_a_crash_while_deleting_leaves_a_consistent_store_and_a_rerun_finishes(
        shared: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import lineage.purge as module

    real_remove = module.remove_blob
    calls: list[str] = []

    def power_cut_after_one(store: Store, digest: str) -> None:
        if calls:
            raise KeyboardInterrupt("power cut")
        calls.append(digest)
        real_remove(store, digest)

    monkeypatch.setattr(module, "remove_blob", power_cut_after_one)
    with pytest.raises(KeyboardInterrupt):
        purge(shared, "dir@1", reason=REASON, yes=True)
    monkeypatch.setattr(module, "remove_blob", real_remove)

    info = shared.snapshots.get("dir@1")
    assert info.purged is not None and len(calls) == 1  # tombstone committed, one of two blobs gone
    assert shared.audit.verify_chain().ok and verify_store(shared).ok
    with pytest.raises(PurgedError):
        shared.snapshots.checkout("dir@1", shared.home / "out")
    head_before = state(shared)[0]
    plan = purge(shared, "dir@1", reason=REASON)
    assert plan.already_purged and len(plan.erase) == 1 and state(shared)[0] == head_before
    finished = purge(shared, "dir@1", reason=REASON, yes=True)
    assert len(finished.erased) == 1 and not shared.objects.exists(finished.erased[0])
    assert shared.audit.log(action="snapshot.purge.finish")[0].payload["removed"] == list(finished.erased)
    assert len(shared.audit.log(action="snapshot.purge")) == 1 and shared.audit.verify_chain().ok
    assert purge(shared, "dir@1", reason=REASON).erase == []


def test_gc_finishes_a_purge_interrupted_before_any_deletion(shared: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import lineage.purge as module

    def crash(store: Store, digest: str) -> None:
        raise OSError("disk detached")

    monkeypatch.setattr(module, "remove_blob", crash)
    with pytest.raises(OSError):
        purge(shared, "dir@1", reason=REASON, yes=True)
    leftovers = {b.sha256 for b in purge(shared, "dir@1", reason=REASON).erase}
    assert len(leftovers) == 2 and all(shared.objects.exists(d) for d in leftovers)
    result = collect(shared, remove=True, grace_seconds=0)
    assert set(result.unreferenced) == leftovers and not any(shared.objects.exists(d) for d in leftovers)
    assert verify_store(shared).ok  # the shared members survived gc


def test_a_crash_before_the_tombstone_commits_writes_nothing(shared: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import lineage.purge as module

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("power cut")

    before = state(shared)
    monkeypatch.setattr(module, "append_event", crash)
    with pytest.raises(KeyboardInterrupt):
        purge(shared, "dir@1", reason=REASON, yes=True)
    assert state(shared) == before and shared.snapshots.get("dir@1").purged is None


# -- what depends on it ---------------------------------------------------------------------------
def test_models_built_from_a_purged_snapshot_are_not_reproducible_input_purged(chain: Store, tmp_path: Path) -> None:  # noqa: F811
    register_model(chain, "churn@2.0.0", tmp_path, inputs=[f"{RAW}:train"])
    purge(chain, RAW, reason=REASON, yes=True)
    through_derived = reproduce(chain, "churn@1.0.0")  # trained on processed and features data derived from raw
    assert through_derived.verdict == "not-reproducible" and through_derived.summary == "not-reproducible: input purged"
    assert through_derived.first_divergence == "data" and [p["ref"] for p in through_derived.purged_inputs] == [RAW]
    assert REASON in through_derived.divergence_detail()
    direct = reproduce(chain, "churn@2.0.0")
    assert direct.summary == "not-reproducible: input purged" and "input purged" in direct.divergence_detail()
    assert chain.audit.log(action="model.reproduce")[-1].payload["purged_inputs"] == [RAW]
    warnings = [w for w in chain.models.staleness() if w["kind"] == "input_purged"]
    assert sorted(w["model"] for w in warnings) == ["churn@1.0.0", "churn@2.0.0"]


def test_trace_shows_the_tombstone_in_json_text_and_dot(chain: Store) -> None:  # noqa: F811
    from datetime import UTC, datetime

    before = datetime.now(UTC)
    purge(chain, RAW, reason='erasure "quoted"', yes=True)
    graph = trace(chain, "churn@1.0.0")
    node = next(n for n in graph.to_json()["nodes"] if n["ref"] == RAW)
    assert node["purged"]["reason"] == 'erasure "quoted"' and node["purged"]["by"] == "tester"
    assert node["purged"]["at"].endswith("Z")
    assert next(n for n in graph.to_json()["nodes"] if n["ref"] == "customers_clean@v1.0")["purged"] is None
    dot = graph.to_dot()
    line = next(x for x in dot.splitlines() if RAW in x and "->" not in x)
    assert "dashed" in line and "purged" in line and 'erasure \\"quoted\\"' in line
    assert trace(chain, "churn@1.0.0", as_of=before).node(graph.node(
        next(n.id for n in graph.nodes if n.ref == RAW)).id).details["purged"] is None  # not yet purged then


def test_the_reproducibility_report_shows_purged_inputs(chain: Store) -> None:  # noqa: F811
    from lineage.reports.build import build_report
    from lineage.reports.render_html import render_html
    from lineage.reports.render_md import render_md

    purge(chain, RAW, reason="<script>alert(1)</script>", yes=True)
    report = build_report(chain, "churn@1.0.0")
    assert [p["ref"] for p in report["purged_inputs"]] == [RAW]
    node = next(n for n in report["trace"]["nodes"] if n["ref"] == RAW)
    assert node["purged"]["reason"] == "<script>alert(1)</script>" and node["check_commands"] == []
    html = render_html(report)
    assert "not-reproducible: input purged" in html and "<script>alert(1)" not in html
    assert "not-reproducible: input purged" in render_md(report)


# -- CLI and bad input --------------------------------------------------------------------------
def test_cli_dry_run_then_yes_then_show_checkout_verify(shared: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    before = state(shared)
    dry = runner.invoke(main, ["purge", "dir@1", "--reason", REASON])
    assert dry.exit_code == 0 and "would purge dir@1" in dry.output and "pass --yes" in dry.output
    assert "shared with other@1" in dry.output and "m@1.0.0" in dry.output and state(shared) == before
    done = runner.invoke(main, ["purge", "dir@1", "--reason", REASON, "--yes", "--json"])
    assert done.exit_code == 0 and json.loads(done.output)["dry_run"] is False
    show = runner.invoke(main, ["snapshot", "show", "dir@1"])
    assert show.exit_code == 0 and "purged" in show.output and REASON in show.output
    assert json.loads(runner.invoke(main, ["snapshot", "show", "dir@1", "--json"]).output)["purged"]["reason"] == REASON
    out = runner.invoke(main, ["snapshot", "checkout", "dir@1", str(tmp_path / "out")])
    assert out.exit_code == 2 and "bytes purged on" in out.stderr and "Traceback" not in out.output
    verify = runner.invoke(main, ["snapshot", "verify", "--all"])
    assert verify.exit_code == 0 and "purged" in verify.output
    check = runner.invoke(main, ["audit", "verify"])
    assert check.exit_code == 0 and "purged on purpose" in check.output
    again = runner.invoke(main, ["purge", "dir@1", "--reason", "x", "--yes"])
    assert again.exit_code == 0 and "already purged" in again.output and "nothing left to erase" in again.output


def test_show_of_a_purged_snapshot_says_its_bytes_are_not_stored(shared: Store) -> None:
    runner = CliRunner()
    before = runner.invoke(main, ["snapshot", "show", "dir@1"])
    assert re.search(r"^stored +yes$", before.output, re.M), before.output
    assert runner.invoke(main, ["purge", "dir@1", "--reason", REASON, "--yes"]).exit_code == 0
    show = runner.invoke(main, ["snapshot", "show", "dir@1"])
    assert show.exit_code == 0, show.output
    [stored] = [line for line in show.output.splitlines() if line.startswith("stored ")]
    assert re.fullmatch(rf"stored +no: bytes purged on \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ by tester: {re.escape(REASON)}",
                        stored), stored
    document = json.loads(runner.invoke(main, ["snapshot", "show", "dir@1", "--json"]).output)
    assert document["stored"] is False and document["purged"]["reason"] == REASON
    assert json.loads(runner.invoke(main, ["snapshot", "show", "other@1", "--json"]).output)["stored"] is True


def test_the_dashboard_detail_of_a_purged_snapshot_says_its_bytes_are_not_stored(shared: Store) -> None:
    from lineage.views import snapshot_detail

    def stored(ref: str) -> str:
        facts = snapshot_detail(shared, shared.snapshots.get(ref))["facts"]
        return str(facts.loc[facts["field"] == "stored", "value"].item())

    assert stored("dir@1") == "yes"
    assert CliRunner().invoke(main, ["purge", "dir@1", "--reason", REASON, "--yes"]).exit_code == 0
    assert stored("dir@1").startswith("no: bytes purged") and stored("other@1") == "yes"


@pytest.mark.parametrize(("args", "message"), [
    (["purge", "nope@1", "--reason", REASON, "--yes"], "no snapshot nope@1"),
    (["purge", "dir@1", "--yes"], "purge needs a reason"),
    (["purge", "dir@1", "--reason", "   ", "--yes"], "purge needs a reason"),
    (["purge", "m@1.0.0", "--reason", REASON, "--yes"], "m@1.0.0 is a model version, not a snapshot"),
    (["purge", "", "--reason", REASON, "--yes"], "empty"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(shared: Store, args: list[str], message: str) -> None:
    before = state(shared)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert state(shared) == before and shared.snapshots.get("dir@1").purged is None


def test_read_only_store_refuses_to_purge_but_previews(shared: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    before = state(shared)
    monkeypatch.setenv("LINEAGE_READ_ONLY", "1")
    result = CliRunner().invoke(main, ["purge", "dir@1", "--reason", REASON, "--yes"])
    assert result.exit_code == 2 and "read-only" in result.stderr
    assert CliRunner().invoke(main, ["purge", "dir@1", "--reason", REASON]).exit_code == 0
    with Store.open() as read_only, pytest.raises(ReadOnlyError):
        purge(read_only, "dir@1", reason=REASON, yes=True)
    assert state(shared) == before


def test_library_errors_name_the_problem(shared: Store) -> None:
    with pytest.raises(NotFoundError):
        purge(shared, "missing", reason=REASON)
    with pytest.raises(InvalidInputError, match="feature-set version|model version"):
        purge(shared, "m", reason=REASON)
