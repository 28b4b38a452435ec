"""OpenLineage export of a store with 100k audit events: ``lineage export openlineage`` vs a bare floor.

Why: the issue asks the export of a store with 100k events to run at 20k events/s or more.

* Store (seed 2010), created with ``Store.init`` and filled in bulk through SQLAlchemy Core
  with the rows and audit payloads the services write (``bench/graph.py``'s ``load``; the
  audit chain is valid and checked with ``store.audit.verify_chain()`` after building):
  ``--events`` audit events (default 100k), about 86 % ``snapshot.add`` (40 % raw with a
  local source path, the rest derived from 1–2 recent snapshots with a transform, plus one
  materialisation per feature-set version), 8.6 % ``model.register`` (features, train and
  validation inputs, feature-set version, git commit and workdir), and ``dataset.create``,
  ``features.register`` and ``model.promote`` events; snapshots have ``--columns`` columns.
  Built once per backend, reused while the parameters match (``--rebuild`` forces it).
* Per repetition, interleaved: the whole command ``lineage export openlineage -o FILE`` as a
  user runs it (interpreter start-up included, under ``/usr/bin/time``), and the floor: a
  subprocess that reads every audit row with the stdlib driver (``sqlite3``/``psycopg``),
  parses each payload and writes it back as one sorted-key JSON line (the least any export
  of the log must do). Medians, events/s (audit events in the store / wall time, and
  RunEvents written / wall time) and the ratio to the floor.
* Checks (not timings): the file holds one line per exported audit event, and a sample of
  ``--validate`` lines validates against the official OpenLineage schemas (the validator of
  ``tests/test_openlineage.py``).

Run: ``.venv/bin/python bench/export.py`` (SQLite), ``--backends sqlite,postgresql`` for both.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from _common import (
    DEFAULT_SCRATCH,
    LINEAGE,
    REPO_ROOT,
    markdown_table,
    median,
    ratio,
    run_timed,
    write_results,
)

sys.path.insert(0, str(REPO_ROOT))

SEED = 2010
TARGET_EVENTS_PER_S = 20_000
ACTOR = "bench"
BASE_TIME = datetime(2026, 1, 1)
TYPES = ("int64", "double", "string", "timestamp[us, tz=UTC]", "bool", "date32[day]")

FLOOR = r"""
import json, sys
backend, target, out = sys.argv[1:4]
if backend == "sqlite":
    import sqlite3
    connection = sqlite3.connect(target)
    rows = connection.execute("SELECT seq, at, actor, action, subject, payload, hash FROM audit_event ORDER BY seq")
else:
    import psycopg
    connection = psycopg.connect(target, options=f"-csearch_path={sys.argv[4]}")
    rows = connection.cursor(name="floor")
    rows.itersize = 10000
    rows.execute("SELECT seq, at, actor, action, subject, payload, hash FROM audit_event ORDER BY seq")
with open(out, "w", encoding="utf-8") as handle:
    for seq, at, actor, action, subject, payload, digest in rows:
        handle.write(json.dumps({"seq": seq, "at": str(at), "actor": actor, "action": action, "subject": subject,
                                 "payload": json.loads(payload), "hash": digest},
                                ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")
"""


# -- generation -------------------------------------------------------------------------------
def generate(events_wanted: int, columns: int) -> dict[str, list[Any]]:
    """Rows and audit events as the services would have written them, parents before children."""
    rng = random.Random(SEED)
    clock = [BASE_TIME]

    def tick() -> datetime:
        clock[0] += timedelta(milliseconds=200)
        return clock[0]

    def hex64() -> str:
        return f"{rng.getrandbits(256):064x}"

    rows: dict[str, list[Any]] = {k: [] for k in (
        "dataset", "snapshot", "edge", "feature_set", "feature_set_version", "feature_code", "model",
        "model_version", "alias_event")}
    events: list[tuple[datetime, str, str, dict[str, Any]]] = []
    datasets: dict[str, int] = {}
    refs: list[str] = [""]  # snapshot id -> ref
    stages: list[str] = [""]

    def edge(parent_kind: str, parent_id: int, child_kind: str, child_id: int, relation: str, at: datetime,
             transform: str = "") -> None:
        rows["edge"].append({"id": len(rows["edge"]) + 1, "parent_kind": parent_kind, "parent_id": parent_id,
                             "child_kind": child_kind, "child_id": child_id, "relation": relation,
                             "transform_ref": transform, "created_at": at})

    def schema() -> tuple[str, list[dict[str, str]]]:
        fields = [{"name": f"col_{i}", "type": TYPES[(i * 7 + len(rows["snapshot"])) % len(TYPES)]}
                  for i in range(columns)]
        return json.dumps({"fields": fields, "arrow": "\n".join(f"{f['name']}: {f['type']}" for f in fields)}), fields

    def snapshot(name: str, stage: str, parents: list[int], transform: str = "", links: list[dict] | None = None,
                 fs_version: int | None = None) -> int:
        if name not in datasets:
            datasets[name] = len(datasets) + 1
            at = tick()
            rows["dataset"].append({"id": datasets[name], "name": name, "created_at": at, "created_by": ACTOR})
            events.append((at, "dataset.create", name, {"name": name}))
        snapshot_id = len(rows["snapshot"]) + 1
        version = f"v{sum(1 for r in refs if r.startswith(name + '@'))}" if stage == "features" else \
            f"2026_{snapshot_id:06d}"
        at = tick()
        sha, size = hex64(), rng.randint(10_000, 50_000_000)
        arrow_schema, _ = schema()
        source = f"lineage:{transform}" if links else f"/data/{name}/{version}.parquet"
        rows["snapshot"].append({
            "id": snapshot_id, "dataset_id": datasets[name], "version": version, "stage": stage,
            "hash_algorithm": "sha256", "sha256": sha, "size_bytes": size, "format": "parquet", "rows": size // 40,
            "column_count": columns, "arrow_schema": arrow_schema, "fingerprint": "blake3:" + hex64(),
            "source_uri": source, "stored": True, "note": "", "created_at": at, "created_by": ACTOR})
        ref = f"{name}@{version}"
        refs.append(ref)
        stages.append(stage)
        for parent in parents:
            edge("snapshot", parent, "snapshot", snapshot_id, "derived_from", at, transform)
        if fs_version is not None:
            edge("feature_set_version", fs_version, "snapshot", snapshot_id, "materialized", at, transform)
        payload = {"sha256": sha, "hash_algorithm": "sha256", "size_bytes": size, "format": "parquet",
                   "rows": size // 40, "columns": columns, "fingerprint": rows["snapshot"][-1]["fingerprint"],
                   "stage": stage, "parents": [refs[p] for p in parents], "transform": transform,
                   "source_uri": source, "stored": True, **({"links": links} if links else {})}
        events.append((at, "snapshot.add", ref, payload))
        return snapshot_id

    def feature_set_version(index: int) -> tuple[int, str]:
        name, version = f"features_{index % 20}", f"1.{index // 20}.0"
        if index < 20:
            rows["feature_set"].append({"id": index + 1, "name": name, "created_at": tick(), "created_by": ACTOR})
        at = tick()
        version_id = index + 1
        codes = {f"f{j}": "sha256:" + hex64() for j in range(8)}
        doc = {"feature_set": name, "version": version, "entity": "col_0", "timestamp": "col_3",
               "features": {f: {"dtype": "float", "nullable": True} for f in codes}}
        set_hash = "sha256:" + hex64()
        rows["feature_set_version"].append({
            "id": version_id, "feature_set_id": index % 20 + 1, "version": version, "schema_doc": json.dumps(doc),
            "set_hash": set_hash, "module": f"pipelines.features.{name}", "module_path": f"/work/proj/{name}.py",
            "git_commit": hex64()[:40], "git_dirty": False, "change_class": "minor" if index >= 20 else "",
            "allow_breaking": "", "released_tag": "", "created_at": at, "created_by": ACTOR})
        for position, (feature, code_hash) in enumerate(codes.items()):
            rows["feature_code"].append({"version_id": version_id, "name": feature, "position": position,
                                         "dtype": "float", "source": f"def {feature}(df):\n    return df.col_1\n",
                                         "code_hash": code_hash})
        events.append((at, "features.register", f"{name}@{version}", {
            "set_hash": set_hash, "schema": doc, "code_hashes": codes, "module": f"pipelines.features.{name}",
            "git_commit": rows["feature_set_version"][-1]["git_commit"], "git_dirty": False, "previous": "",
            "required_bump": "minor", "changes": [], "allow_breaking": "", "affected": []}))
        return version_id, f"{name}@{version}"

    feature_versions = 200  # per snapshot: one event, 1/20 dataset.create, 1/10 model.register, 1/100 promote
    snapshots = int((events_wanted - 2 * feature_versions - 100) / (1 + 1 / 20 + 1 / 10 + 1 / 100))
    names = max(1, snapshots // 40)
    materialised: list[tuple[int, int, str, int]] = []  # (features snapshot, source, fs ref, fs id)
    for i in range(snapshots - feature_versions):
        if i < 2000 or rng.random() < 0.4:
            snapshot(f"raw_{i % names}", "raw", [])
        else:
            recent = rng.sample(range(max(1, len(refs) - 2000), len(refs)), rng.choice((1, 1, 2)))
            snapshot(f"table_{i % names}", "processed", sorted(recent),
                     transform=f"pipelines/build_{i % 50}.py:run")
        if (i + 1) % ((snapshots - feature_versions) // feature_versions) == 0 and \
                len(materialised) < feature_versions:
            version_id, fs_ref = feature_set_version(len(materialised))
            source = rng.randrange(max(1, len(refs) - 1000), len(refs))
            link = {"parent_kind": "feature_set_version", "parent": fs_ref, "relation": "materialized",
                    "transform": fs_ref}
            features_id = snapshot(f"{fs_ref.split('@')[0]}_values", "features", [source], transform=fs_ref,
                                   links=[link], fs_version=version_id)
            materialised.append((features_id, source, fs_ref, version_id))

    models = snapshots // 10
    for i in range(models):
        name, version = f"model_{i % 100}", f"1.{i // 100}.0"
        if i < 100:
            rows["model"].append({"id": i + 1, "name": name, "created_at": tick(), "created_by": ACTOR})
        at = tick()
        features_id, train, fs_ref, fs_id = materialised[rng.randrange(len(materialised))]
        validation = rng.randrange(1, len(refs))
        sha, commit = hex64(), hex64()[:40]
        code = {"git_commit": commit, "git_dirty": False, "entrypoint": f"python train.py --version {version}",
                "workdir": "/work/proj"}
        metrics, params = {"auc": round(rng.random(), 6)}, {"C": 1.0, "max_iter": 200}
        rows["model_version"].append({
            "id": i + 1, "model_id": i % 100 + 1, "version": version, "artifact_sha256": sha,
            "artifact_size": rng.randint(1000, 10_000_000), "artifact_kind": "file", "artifact_name": "model.pkl",
            "feature_set_version_id": fs_id, "seed": SEED, "params": json.dumps(params),
            "metrics": json.dumps(metrics), "git_commit": commit, "git_dirty": False,
            "entrypoint": code["entrypoint"], "workdir": code["workdir"], "environment": "{}", "run_id": "",
            "note": "", "created_at": at, "created_by": ACTOR})
        inputs = [{"ref": refs[s], "role": role, "sha256": rows["snapshot"][s - 1]["sha256"], "stage": stages[s]}
                  for s, role in ((features_id, "features"), (train, "train"), (validation, "validation"))]
        for s, role in ((features_id, "features"), (train, "train"), (validation, "validation")):
            edge("snapshot", s, "model_version", i + 1, role, at)
        edge("feature_set_version", fs_id, "model_version", i + 1, "uses_features", at)
        events.append((at, "model.register", f"{name}@{version}", {
            "model_version": version, "data_snapshot_id": inputs[1]["ref"], "data_hash": inputs[1]["sha256"],
            "feature_set_version": fs_ref.split("@")[1], "artifact_sha256": sha, "artifact_kind": "file",
            "inputs": inputs, "feature_set": fs_ref, "seed": SEED, "params": params, "metrics": metrics,
            "code": code, "run_id": ""}))
        if i % 10 == 0:
            at = tick()
            rows["alias_event"].append({"id": len(rows["alias_event"]) + 1, "model_id": i % 100 + 1,
                                        "alias": "production", "model_version_id": i + 1, "action": "promote",
                                        "reason": "bench", "at": at, "actor": ACTOR})
            events.append((at, "model.promote", f"{name}@production", {
                "model": name, "alias": "production", "version": version, "reason": "bench"}))
    if len(events) > events_wanted - 1:
        raise SystemExit(f"generated {len(events)} events for {events_wanted}: the mix estimate is off")
    while len(events) < events_wanted - 1:  # store.init is the first event
        events.append((tick(), "store.verify", "/bench", {"ok": True}))
    rows["_events"] = events
    return rows


# -- stores -----------------------------------------------------------------------------------
def open_store(backend: str, args: argparse.Namespace) -> Any:
    """The bench store of one backend, built unless an identical one exists."""
    from graph import _pg_schema_url, _reset, load

    from lineage.store import Store

    home = Path(args.scratch) / f"export-{backend}"
    marker = home / "bench-params.json"
    overrides: dict[str, Any] = {}
    if backend == "postgresql":
        overrides["db_url"] = _pg_schema_url(args)
    wanted = {"events": args.events, "columns": args.columns, "seed": SEED, "format": 1}
    if not args.rebuild and marker.exists() and json.loads(marker.read_text()) == wanted:
        try:
            return Store.open(home, **overrides)
        except Exception as exc:  # noqa: BLE001 - a dropped schema or deleted file: build again
            print(f"  cannot reuse the {backend} store ({exc}): building it", file=sys.stderr)
    _reset(backend, home, args)
    store = Store.init(home, **overrides)
    started = time.perf_counter()
    load(store, generate(args.events, args.columns))
    check = store.audit.verify_chain()
    if not check.ok or check.events != args.events:
        raise SystemExit(f"the bench store's audit chain does not verify: {check}")
    print(f"  built the {backend} store in {time.perf_counter() - started:.1f} s; chain of {check.events:,} "
          "events verifies", file=sys.stderr)
    marker.write_text(json.dumps(wanted))
    return store


def exported_count(store: Any) -> int:
    from sqlalchemy import text

    from lineage.openlineage import EXPORTED_ACTIONS

    with store.db.engine.connect() as connection:
        names = ", ".join(f"'{a}'" for a in EXPORTED_ACTIONS)
        return int(connection.execute(text(f"SELECT count(*) FROM audit_event WHERE action IN ({names})")).scalar())


def validate_sample(path: Path, sample: int) -> int:
    """Validate ``sample`` evenly spread lines against the official schemas (tests/test_openlineage.py)."""
    from tests.test_openlineage import _validate_event

    lines = path.read_text(encoding="utf-8").splitlines()
    step = max(1, len(lines) // max(sample, 1))
    for line in lines[::step][:sample]:
        _validate_event(json.loads(line))
    return len(lines)


# -- run --------------------------------------------------------------------------------------
def bench_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    from graph import _plain

    store = open_store(backend, args)
    env = {"LINEAGE_HOME": str(store.home), "LINEAGE_USER": "bench", "PATH": "/usr/bin:/bin"}
    if backend == "postgresql":
        from graph import _pg_schema_url

        env["LINEAGE_DB_URL"] = _pg_schema_url(args)
        floor_args = [_plain(args.pg_url), "", args.pg_schema]
    else:
        floor_args = [str(store.db.sqlite_path()), ""]
    exported = exported_count(store)
    store.close()
    out = Path(args.scratch) / f"export-{backend}.jsonl"
    floor_out = Path(args.scratch) / f"export-{backend}-floor.jsonl"
    lineage_cmd = [LINEAGE, "export", "openlineage", "-o", str(out)]
    floor_cmd = [sys.executable, "-c", FLOOR, backend, floor_args[0], str(floor_out), *floor_args[2:]]
    run_timed(lineage_cmd, env=env)  # untimed warm-up of both (page cache, .pyc files)
    run_timed(floor_cmd, env=env)
    lines = validate_sample(out, args.validate)
    if lines != exported:
        raise SystemExit(f"the export wrote {lines} events, the store has {exported} exportable audit events")
    samples: dict[str, list[Any]] = {"lineage": [], "floor": []}
    for _ in range(args.repeats):
        samples["lineage"].append(run_timed(lineage_cmd, env=env))
        samples["floor"].append(run_timed(floor_cmd, env=env))
    wall = {k: median([r.wall_s for r in v]) for k, v in samples.items()}
    cpu = {k: median([r.cpu_s for r in v]) for k, v in samples.items()}
    rss = {k: median([r.peak_rss_mb for r in v]) for k, v in samples.items()}
    return {"backend": backend, "events": args.events, "exported": exported, "wall_s": wall, "cpu_s": cpu,
            "peak_rss_mb": rss, "samples": samples,
            "events_per_s": args.events / wall["lineage"], "run_events_per_s": exported / wall["lineage"],
            "ratio_to_floor": ratio(wall["lineage"], wall["floor"])}


def main() -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="audit events in the store")
    parser.add_argument("--columns", type=int, default=12, help="columns per snapshot (schema facet size)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--validate", type=int, default=300, help="lines validated against the official schemas")
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--scratch", default=str(DEFAULT_SCRATCH))
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--pg-url", default=os.environ.get("LINEAGE_TEST_PG_URL", ""))
    parser.add_argument("--pg-schema", default="bench_export")
    args = parser.parse_args()
    Path(args.scratch).mkdir(parents=True, exist_ok=True)
    results = []
    for backend in args.backends.split(","):
        print(f"{backend}: preparing the store", file=sys.stderr)
        results.append(bench_backend(backend, args))
    rows = [[r["backend"], f"{r['events']:,}", f"{r['exported']:,}", r["wall_s"]["lineage"], r["cpu_s"]["lineage"],
             r["wall_s"]["floor"], f"{r['events_per_s']:,.0f}", f"{r['run_events_per_s']:,.0f}",
             r["ratio_to_floor"], r["peak_rss_mb"]["lineage"],
             "met" if r["events_per_s"] >= TARGET_EVENTS_PER_S else "MISSED"] for r in results]
    print(markdown_table(["backend", "audit events", "RunEvents", "export s (median)", "export CPU s", "floor s",
                          "audit events/s", "RunEvents/s", "export/floor", "peak RSS MB",
                          f"target ≥ {TARGET_EVENTS_PER_S:,}/s"], rows))
    print(f"load average at the end: {os.getloadavg()}")
    print(f"raw results: {write_results('export', {'args': vars(args), 'results': results})}")


if __name__ == "__main__":
    main()
