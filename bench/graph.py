"""Trace, impact and audit verify on a big store: ``lineage.graph`` vs its own recursive query run bare.

Why: the issue asks trace and impact to be one indexed recursive query each, with no N+1,
so that the Python API costs at most 2x the query alone (the floor: the same recursive CTE,
``lineage.graph.walk_sql``, run with the stdlib ``sqlite3`` module, or with ``psycopg`` on
PostgreSQL, on an open connection). It also asks ``audit verify`` to recompute a chain of
200k events in under 10 s.

* Store (seed 2010), created with ``Store.init`` and filled in bulk through SQLAlchemy Core
  (bulk generation is a bench concern; the rows are what the services would write):
  ``--snapshots`` snapshots (default 100k: 2/9 of the non-feature ones raw, the rest processed
  on 8 levels, each derived from 1-3 snapshots of the level above, so parent chains are up
  to 10 deep), ``--feature-sets`` feature-set versions (5 features each), one features
  snapshot materialised from each (derived from a level-8 snapshot), ``--models`` model
  versions (features snapshot, its source as train, another level-8 snapshot as validation,
  the feature-set version), about 5 alias moves per model, and ``--audit-events`` valid
  chained audit events (hashed with ``lineage.audit.event_hash``). Built once per backend
  and reused while the parameters match (``--rebuild`` forces it).
* Cases: a typical model trace (the median size of 50 sampled model versions), the trace of
  its features snapshot, the impact of its feature-set version, the impact of a typical and
  of the largest of 50 sampled raw snapshots, and the model trace and raw impact ``--as-of``
  a time in the middle of the model registrations.
* Each case runs the API (``trace(store, ref)`` / ``impact(store, ref)``: resolving the ref,
  the walk, node details, entities), the floor (the walk only) and, for reference, the API's
  own statement run bare (``graph_sql``: the walk plus the node details) interleaved, after
  an untimed warm-up, ``--repeats`` times; medians and their ratios. The floor's distinct
  edges must equal the API's edges (a bench check, not a timing assertion).
* ``audit verify``: ``store.audit.verify_chain()`` ``--audit-repeats`` times, median.

Run: ``.venv/bin/python bench/graph.py`` (both backends; ``--backends sqlite`` for one,
``--snapshots 20000 --feature-sets 2000 --models 2000 --audit-events 40000`` for a quick run).
PostgreSQL: ``--pg-url`` (default ``$LINEAGE_TEST_PG_URL``), in the schema ``--pg-schema``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import DEFAULT_SCRATCH, REPO_ROOT, markdown_table, median, ratio, write_results

sys.path.insert(0, str(REPO_ROOT))

SEED = 2010
TARGET = 2.0
AUDIT_TARGET_S = 10.0
LEVELS = 8  # processed levels below raw: a features snapshot is 10 snapshots deep
FEATURES_PER_SET = 5
VERSIONS_PER_NAME = 10
BASE_TIME = datetime(2026, 1, 1)
ACTOR = "bench"


# -- generation -------------------------------------------------------------------------------
class Clock:
    """Strictly increasing naive UTC times, one per record, in registration order."""

    def __init__(self) -> None:
        self.now = BASE_TIME

    def tick(self) -> datetime:
        self.now += timedelta(milliseconds=250)
        return self.now


def hex64(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def generate(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    """Every row of the bench store, ids assigned, parents always registered before children."""
    rng = random.Random(SEED)
    clock = Clock()
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "dataset", "snapshot", "edge", "feature_set", "feature_set_version", "feature_code", "model",
        "model_version", "alias_event")}
    events: list[tuple[datetime, str, str, dict[str, Any]]] = []
    datasets: dict[str, int] = {}

    def dataset(name: str) -> int:
        if name not in datasets:
            datasets[name] = len(datasets) + 1
            at = clock.tick()
            rows["dataset"].append({"id": datasets[name], "name": name, "created_at": at, "created_by": ACTOR})
            events.append((at, "dataset.create", name, {"name": name}))
        return datasets[name]

    def edge(parent_kind: str, parent_id: int, child_kind: str, child_id: int, relation: str, at: datetime,
             transform: str = "") -> None:
        rows["edge"].append({"id": len(rows["edge"]) + 1, "parent_kind": parent_kind, "parent_id": parent_id,
                             "child_kind": child_kind, "child_id": child_id, "relation": relation,
                             "transform_ref": transform, "created_at": at})

    refs: dict[int, str] = {}

    def snapshot(name: str, version: str, stage: str, parents: list[int], transform: str = "",
                 note: str = "") -> int:
        dataset_id = dataset(name)
        snapshot_id = len(rows["snapshot"]) + 1
        at = clock.tick()
        sha = hex64(rng)
        size = rng.randint(10_000, 50_000_000)
        rows["snapshot"].append({
            "id": snapshot_id, "dataset_id": dataset_id, "version": version, "stage": stage,
            "hash_algorithm": "sha256", "sha256": sha, "size_bytes": size, "format": "parquet",
            "rows": size // 40, "column_count": 8,
            "arrow_schema": '{"arrow":"customer_id: int64","fields":[{"name":"customer_id","type":"int64"}]}',
            "fingerprint": "fp1:" + sha[:32], "source_uri": f"/data/{name}/{version}.parquet", "stored": True,
            "note": note, "created_at": at, "created_by": ACTOR,
        })
        refs[snapshot_id] = f"{name}@{version}"
        for parent in parents:
            edge("snapshot", parent, "snapshot", snapshot_id, "derived_from", at, transform)
        events.append((at, "snapshot.add", refs[snapshot_id], {
            "sha256": sha, "hash_algorithm": "sha256", "size_bytes": size, "format": "parquet", "stage": stage,
            "parents": [refs[p] for p in parents], "transform": transform}))
        return snapshot_id

    fsv_count = args.feature_sets
    others = args.snapshots - fsv_count
    raw_count = others * 2 // 9
    per_level = (others - raw_count) // LEVELS
    raw_count = others - per_level * LEVELS
    raw_names = max(1, raw_count // 100)
    levels: list[list[int]] = [[snapshot(f"raw_{i % raw_names}", f"v{i // raw_names}", "raw", [],
                                         note=f"export {i}") for i in range(raw_count)]]
    for level in range(1, LEVELS + 1):
        above = levels[-1]
        current = []
        for i in range(per_level):
            fan_in = rng.choices((1, 2, 3), weights=args.fan_in_weights)[0]
            parents = sorted(set(rng.sample(above, fan_in)))
            current.append(snapshot(f"proc{level}_{i % 100}", f"v{i // 100}", "processed", parents,
                                    transform=f"pipelines/level{level}.py:build"))
        levels.append(current)

    set_names = max(1, fsv_count // VERSIONS_PER_NAME)
    fsv_ids: list[int] = []
    for i in range(fsv_count):
        name, version = f"fs_{i % set_names}", f"1.{i // set_names}.0"
        if i < set_names:
            at = clock.tick()
            rows["feature_set"].append({"id": i + 1, "name": name, "created_at": at, "created_by": ACTOR})
        at = clock.tick()
        fsv_id = i + 1
        codes = {f"f{j}": "sha256:" + hex64(rng) for j in range(FEATURES_PER_SET)}
        set_hash = "sha256:" + hex64(rng)
        rows["feature_set_version"].append({
            "id": fsv_id, "feature_set_id": i % set_names + 1, "version": version,
            "schema_doc": json.dumps({"feature_set": name, "version": version,
                                      "features": {f: {"dtype": "float"} for f in codes}}),
            "set_hash": set_hash, "module": "bench.features", "module_path": "", "git_commit": "",
            "git_dirty": None, "change_class": "minor" if i >= set_names else "", "allow_breaking": "",
            "released_tag": "", "created_at": at, "created_by": ACTOR})
        for position, (feature, code_hash) in enumerate(codes.items()):
            rows["feature_code"].append({"version_id": fsv_id, "name": feature, "position": position,
                                         "dtype": "float", "source": f"def {feature}(df):\n    return df.x\n",
                                         "code_hash": code_hash})
        events.append((at, "features.register", f"{name}@{version}", {"set_hash": set_hash, "code_hashes": codes}))
        fsv_ids.append(fsv_id)

    materialised: dict[int, int] = {}
    computed_on: dict[int, int] = {}
    for fsv_id in fsv_ids:
        source = rng.choice(levels[-1])
        fsv = rows["feature_set_version"][fsv_id - 1]
        fs_name = rows["feature_set"][fsv["feature_set_id"] - 1]["name"]
        fs_ref = f"{fs_name}@{fsv['version']}"
        name, version = refs[source].split("@")
        features_id = snapshot(f"{fs_name}_values", f"{fsv['version']}-{name}-{version}", "features", [source],
                               transform=fs_ref, note=f"{fs_ref} computed on {refs[source]}")
        edge("feature_set_version", fsv_id, "snapshot", features_id, "materialized",
             rows["snapshot"][features_id - 1]["created_at"], fs_ref)
        materialised[fsv_id] = features_id
        computed_on[features_id] = source

    model_names = max(1, args.models // VERSIONS_PER_NAME)
    for i in range(args.models):
        name, version = f"model_{i % model_names}", f"1.{i // model_names}.0"
        if i < model_names:
            at = clock.tick()
            rows["model"].append({"id": i + 1, "name": name, "created_at": at, "created_by": ACTOR})
        at = clock.tick()
        fsv_id = rng.choice(fsv_ids)
        features_id = materialised[fsv_id]
        train = computed_on[features_id]  # features are computed on the training data
        validation = rng.choice(levels[-1])
        sha = hex64(rng)
        model_version_id = i + 1
        rows["model_version"].append({
            "id": model_version_id, "model_id": i % model_names + 1, "version": version, "artifact_sha256": sha,
            "artifact_size": rng.randint(1000, 10_000_000), "artifact_kind": "file", "artifact_name": "model.pkl",
            "feature_set_version_id": fsv_id, "seed": SEED, "params": '{"C": 1.0}',
            "metrics": json.dumps({"auc": round(rng.random(), 6)}), "git_commit": "", "git_dirty": None,
            "entrypoint": "train.py", "workdir": "/work", "environment": "{}", "run_id": "", "note": "",
            "created_at": at, "created_by": ACTOR})
        for parent, role in ((features_id, "features"), (train, "train"), (validation, "validation")):
            edge("snapshot", parent, "model_version", model_version_id, role, at)
        edge("feature_set_version", fsv_id, "model_version", model_version_id, "uses_features", at)
        events.append((at, "model.register", f"{name}@{version}", {"artifact_sha256": sha, "inputs": [
            refs[features_id], refs[train], refs[validation]]}))

    for model_id in range(1, model_names + 1):
        versions = [v for v in range(model_id, args.models + 1, model_names)]
        for alias, moves in (("production", 3), ("staging", 2)):
            for version_id in sorted(rng.sample(versions, min(moves, len(versions)))):
                at = clock.tick()
                rows["alias_event"].append({"id": len(rows["alias_event"]) + 1, "model_id": model_id,
                                            "alias": alias, "model_version_id": version_id, "action": "promote",
                                            "reason": "bench", "at": at, "actor": ACTOR})
                events.append((at, "model.promote", f"model_{model_id - 1}@{alias}", {"alias": alias}))

    while len(events) < args.audit_events:  # the rest: verifications, as a busy store records them
        snapshot_id = rng.randint(1, len(rows["snapshot"]))
        events.append((clock.tick(), "snapshot.verify", refs[snapshot_id], {"ok": True}))
    rows["_events"] = events[:args.audit_events]  # type: ignore[assignment]
    rows["_meta"] = [{"mid_models": rows["model_version"][len(rows["model_version"]) // 2]["created_at"]}]
    return rows


def chained_events(store: Any, events: list[tuple[datetime, str, str, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """The events as valid links of the store's chain, continuing from its current head."""
    from lineage.audit import canonical_json, event_hash
    from lineage.tables import AuditHead

    with store.db.session() as session:
        head = session.get(AuditHead, 1)
        seq, prev = head.seq, head.hash
    for at, action, subject, payload in events:
        seq += 1
        payload_text = canonical_json(payload)
        digest = event_hash(prev_hash=prev, seq=seq, at=at, actor=ACTOR, action=action, subject=subject,
                            payload=payload_text)
        yield {"seq": seq, "at": at, "actor": ACTOR, "action": action, "subject": subject,
               "payload": payload_text, "prev_hash": prev, "hash": digest}
        prev = digest


def load(store: Any, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Insert every row in bulk with SQLAlchemy Core, then the audit chain and its head."""
    from sqlalchemy import update

    from lineage import tables

    order = [("dataset", tables.Dataset), ("snapshot", tables.Snapshot), ("feature_set", tables.FeatureSetRow),
             ("feature_set_version", tables.FeatureSetVersion), ("feature_code", tables.FeatureCodeRow),
             ("model", tables.ModelRow), ("model_version", tables.ModelVersion), ("edge", tables.Edge),
             ("alias_event", tables.AliasEvent)]
    with store.db.engine.begin() as connection:
        for name, model in order:
            for chunk in _chunks(rows[name], 20_000):
                connection.execute(model.__table__.insert(), chunk)
            print(f"  inserted {len(rows[name]):,} {name} rows", file=sys.stderr)
        last: dict[str, Any] | None = None
        count = 0
        for chunk in _chunks(list(chained_events(store, rows["_events"])), 20_000):  # type: ignore[arg-type]
            connection.execute(tables.AuditEvent.__table__.insert(), chunk)
            last, count = chunk[-1], count + len(chunk)
        assert last is not None
        connection.execute(update(tables.AuditHead.__table__).where(tables.AuditHead.__table__.c.id == 1)
                           .values(seq=last["seq"], hash=last["hash"]))
        print(f"  inserted {count:,} audit events", file=sys.stderr)
        if connection.dialect.name == "postgresql":
            for name, _ in order:
                if name != "feature_code":
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
    if store.db.engine.dialect.name == "postgresql":
        with store.db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# -- stores -----------------------------------------------------------------------------------
def params_of(args: argparse.Namespace) -> dict[str, Any]:
    return {"snapshots": args.snapshots, "feature_sets": args.feature_sets, "models": args.models,
            "audit_events": args.audit_events, "fan_in_weights": args.fan_in_weights, "seed": SEED, "format": 1}


def open_store(backend: str, args: argparse.Namespace) -> tuple[Any, datetime]:
    """The bench store of one backend, built unless an identical one exists."""
    from lineage.store import Store

    home = Path(args.scratch) / f"graph-{backend}"
    marker = home / "bench-params.json"
    overrides: dict[str, Any] = {}
    if backend == "postgresql":
        overrides["db_url"] = _pg_schema_url(args)
    wanted = params_of(args)
    if not args.rebuild and marker.exists() and json.loads(marker.read_text())["params"] == wanted:
        try:
            store = Store.open(home, **overrides)
            return store, datetime.fromisoformat(json.loads(marker.read_text())["mid_models"])
        except Exception as exc:  # noqa: BLE001 - a dropped schema or deleted file: build again
            print(f"  cannot reuse the {backend} store ({exc}): building it", file=sys.stderr)
    _reset(backend, home, args)
    store = Store.init(home, **overrides)
    started = time.perf_counter()
    rows = generate(args)
    print(f"  generated rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    load(store, rows)
    mid = rows["_meta"][0]["mid_models"]
    print(f"  built the {backend} store in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    marker.write_text(json.dumps({"params": wanted, "mid_models": mid.isoformat()}))
    return store, mid


def _reset(backend: str, home: Path, args: argparse.Namespace) -> None:
    from _common import remove_tree

    remove_tree(home)
    home.mkdir(parents=True)
    if backend == "postgresql":
        import psycopg

        with psycopg.connect(_plain(args.pg_url), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{args.pg_schema}" CASCADE')
            connection.execute(f'CREATE SCHEMA "{args.pg_schema}"')


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _pg_schema_url(args: argparse.Namespace) -> str:
    separator = "&" if "?" in args.pg_url else "?"
    return f"{args.pg_url}{separator}options=-csearch_path%3D{args.pg_schema}"


# -- the floor --------------------------------------------------------------------------------
class Floor:
    """The walk alone: ``walk_sql`` on one open stdlib connection, rows fetched, nothing else."""

    def __init__(self, store: Any, backend: str, args: argparse.Namespace) -> None:
        self.backend = backend
        if backend == "sqlite":
            self.connection: Any = sqlite3.connect(store.db.sqlite_path())
            if args.sqlite_cache_mib:
                self.connection.execute(f"PRAGMA cache_size = -{args.sqlite_cache_mib * 1024}")
        else:
            import psycopg

            self.connection = psycopg.connect(_plain(args.pg_url), autocommit=True,
                                              options=f"-csearch_path={args.pg_schema}")

    def sql(self, direction: str, as_of: bool, *, details: bool = False) -> str:
        """The walk (the floor); with ``details``, the API's whole statement (walk plus node details)."""
        from lineage.graph import graph_sql, walk_sql

        text = (graph_sql if details else walk_sql)(direction, as_of=as_of)
        return text if self.backend == "sqlite" else re.sub(r"(?<!:):(\w+)", r"%(\1)s", text)

    def run(self, sql: str, params: dict[str, Any]) -> list[Any]:
        if self.backend == "sqlite":
            return self.connection.execute(sql, params).fetchall()
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def close(self) -> None:
        self.connection.close()


def tune_sqlite(store: Any, cache_mib: int) -> None:
    """``PRAGMA cache_size`` on every connection of the store's engine (the floor gets the same).

    SQLite's default page cache is 2 MiB; a trace and its node details on a 100k-snapshot
    store touch more pages than that, so each run re-reads some of them from the OS.
    """
    from sqlalchemy import event

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA cache_size = -{cache_mib * 1024}")

    event.listen(store.db.engine, "connect", on_connect)
    store.db.engine.dispose()  # connections opened before the listener are dropped


def as_of_param(backend: str, moment: datetime) -> Any:
    """What SQLAlchemy binds for a DateTime on each backend (SQLite keeps text)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if backend == "sqlite" else moment


# -- cases ------------------------------------------------------------------------------------
def node_key(node_id: str) -> tuple[str, int]:
    kind, _, row_id = node_id.partition(":")
    return kind, int(row_id)


def pick_cases(store: Any, mid: datetime) -> list[dict[str, Any]]:
    """Deterministic roots: typical (median-size) and large ones among seeded samples."""
    from sqlalchemy import text

    from lineage.graph import impact, trace

    rng = random.Random(SEED + 1)
    with store.db.engine.connect() as connection:
        models = connection.execute(text("SELECT count(*) FROM model_version")).scalar()
        raws = [r[0] for r in connection.execute(text("SELECT id FROM snapshot WHERE stage = 'raw'"))]
    model_sizes = sorted((len(trace(store, ref).nodes), ref) for ref in
                         (_model_ref(store, i) for i in rng.sample(range(1, models + 1), 50)))
    typical_model = model_sizes[len(model_sizes) // 2][1]
    graph = trace(store, typical_model)
    features = next(n.ref for n in graph.nodes if n.kind == "snapshot" and n.stage == "features" and n.depth == 1)
    feature_set = next(n.ref for n in graph.nodes if n.kind == "feature_set_version")
    raw_refs = [_snapshot_ref(store, i) for i in rng.sample(raws, 50)]
    raw_sizes = sorted((len(impact(store, ref).nodes), ref) for ref in raw_refs)
    typical_raw, large_raw = raw_sizes[len(raw_sizes) // 2][1], raw_sizes[-1][1]
    mid_aware = mid.replace(tzinfo=UTC)
    return [
        {"name": "trace model (typical)", "direction": "upstream", "ref": typical_model, "as_of": None},
        {"name": "trace features snapshot", "direction": "upstream", "ref": features, "as_of": None},
        {"name": "impact feature-set version", "direction": "downstream", "ref": feature_set, "as_of": None},
        {"name": "impact raw snapshot (typical)", "direction": "downstream", "ref": typical_raw, "as_of": None},
        {"name": "impact raw snapshot (largest of 50)", "direction": "downstream", "ref": large_raw, "as_of": None},
        {"name": "trace model --as-of", "direction": "upstream", "ref": typical_model,
         "as_of": max(mid_aware, graph.root_node.created_at + timedelta(seconds=1))},
        {"name": "impact raw (largest) --as-of", "direction": "downstream", "ref": large_raw, "as_of": mid_aware},
    ]


def _model_ref(store: Any, model_version_id: int) -> str:
    from sqlalchemy import text

    with store.db.engine.connect() as connection:
        name, version = connection.execute(text(
            "SELECT m.name, v.version FROM model_version v JOIN model m ON m.id = v.model_id WHERE v.id = :id"),
            {"id": model_version_id}).one()
    return f"{name}@{version}"


def _snapshot_ref(store: Any, snapshot_id: int) -> str:
    from sqlalchemy import text

    with store.db.engine.connect() as connection:
        name, version = connection.execute(text(
            "SELECT d.name, s.version FROM snapshot s JOIN dataset d ON d.id = s.dataset_id WHERE s.id = :id"),
            {"id": snapshot_id}).one()
    return f"{name}@{version}"


def time_case(store: Any, floor: Floor, backend: str, case: dict[str, Any], repeats: int) -> dict[str, Any]:
    from lineage.graph import EDGE_SLACK, MAX_DEPTH, impact, trace

    call = trace if case["direction"] == "upstream" else impact
    graph = call(store, case["ref"], as_of=case["as_of"])
    kind, row_id = node_key(graph.root)
    sql = floor.sql(case["direction"], case["as_of"] is not None)
    params = {"kind": kind, "id": row_id, "max_depth": MAX_DEPTH}
    if case["as_of"] is not None:  # the bound the API passes (it then drops nodes registered after as_of)
        params["as_of"] = as_of_param(backend, case["as_of"].replace(tzinfo=None) + EDGE_SLACK)
    statement_sql = floor.sql(case["direction"], case["as_of"] is not None, details=True)
    statement_params = {"kind": kind, "id": row_id}
    if case["as_of"] is not None:
        statement_params["as_of"] = params["as_of"]
        statement_params["alias_as_of"] = as_of_param(backend, case["as_of"].replace(tzinfo=None))
    floor_rows = floor.run(sql, params)
    kept = {n.id for n in graph.nodes}
    floor_edges = {(r[0], r[1], r[2]) for r in floor_rows if r[0] in kept and r[1] in kept}
    api_edges = {(e.parent, e.child, e.relation) for e in graph.edges}
    methods: dict[str, Callable[[], Any]] = {
        "api": lambda: call(store, case["ref"], as_of=case["as_of"]),
        "floor": lambda: floor.run(sql, params),
        "statement": lambda: floor.run(statement_sql, statement_params),
    }
    for _ in range(max(5, repeats // 10)):  # warm-up: statement caches, prepared statements, page cache
        for method in methods.values():
            method()
    times: dict[str, list[float]] = {m: [] for m in methods}
    cpu: dict[str, list[float]] = {m: [] for m in methods}
    gc.collect()
    for _ in range(repeats):
        for name, method in methods.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            method()
            times[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    return {**case, "as_of": case["as_of"].isoformat() if case["as_of"] else None, "nodes": len(graph.nodes),
            "edges": len(graph.edges), "floor_rows": len(floor_rows), "same_edges": floor_edges == api_edges,
            "times": times, "cpu": cpu}


def time_audit(store: Any, repeats: int) -> dict[str, Any]:
    times, cpu, check = [], [], None
    for _ in range(repeats):
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        check = store.audit.verify_chain()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    assert check is not None
    return {"events": check.events, "ok": check.ok, "times": times, "cpu": cpu}


# -- report -----------------------------------------------------------------------------------
def report(backend: str, cases: list[dict[str, Any]], audit: dict[str, Any]) -> str:
    """Wall-clock medians decide the targets; in-process CPU medians are shown for SQLite, where
    both methods run in this process (on PostgreSQL the server's CPU is not ours to count)."""
    rows = []
    for case in cases:
        api, floor = median(case["times"]["api"]), median(case["times"]["floor"])
        paired = median([ratio(a, f) for a, f in zip(case["times"]["api"], case["times"]["floor"], strict=True)])
        share = ratio(api, floor)
        cpu = ratio(median(case["cpu"]["api"]), median(case["cpu"]["floor"]))
        statement = median(case["times"]["statement"])
        rows.append([case["name"], case["ref"], case["nodes"], case["edges"], case["floor_rows"],
                     f"{floor * 1000:.3f}", f"{api * 1000:.3f}", f"{share:.2f}", f"{paired:.2f}",
                     f"{cpu:.2f}" if backend.startswith("sqlite") else "-",
                     "met" if share <= TARGET else "MISSED", "yes" if case["same_edges"] else "NO",
                     f"{statement * 1000:.3f}", f"{ratio(statement, floor):.2f}", f"{ratio(api, statement):.2f}"])
    audit_median = median(audit["times"])
    checks = [[f"audit verify_chain, {audit['events']:,} events", f"{audit_median:.2f} s",
               f"{median(audit['cpu']):.2f} s", f"< {AUDIT_TARGET_S:.0f} s",
               "met" if audit_median < AUDIT_TARGET_S and audit["ok"] else "MISSED",
               ", ".join(f"{t:.2f}" for t in audit["times"])]]
    return "\n".join([
        f"### {backend}", "",
        markdown_table(["case", "root", "nodes", "edges", "floor rows", "floor ms", "API ms", "API/floor",
                        "paired ratio", "CPU ratio", f"<= {TARGET:g}x", "same edges", "API's statement ms",
                        "statement/floor", "API/statement"], rows), "",
        "The target is judged against the floor (the walk). \"API's statement\" is the one statement the "
        "API runs (`graph_sql`: the walk plus every node's details) run bare on the same connection: "
        "statement/floor is what the details cost in the database, API/statement what Python adds.", "",
        markdown_table(["check", "median wall", "median CPU", "target", "status", "wall samples"], checks), "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshots", type=int, default=100_000)
    parser.add_argument("--feature-sets", type=int, default=10_000)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--audit-events", type=int, default=200_000)
    parser.add_argument("--fan-in-weights", type=lambda s: [float(x) for x in s.split(",")], default=[0.37, 0.43, 0.2],
                        help="weights of 1, 2 and 3 parents per processed snapshot (default 0.37,0.43,0.2)")
    parser.add_argument("--repeats", type=int, default=200, help="timed runs per case and method (default 200)")
    parser.add_argument("--audit-repeats", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("LINEAGE_TEST_PG_URL",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--pg-schema", default="bench_graph")
    parser.add_argument("--scratch", default=str(DEFAULT_SCRATCH))
    parser.add_argument("--rebuild", action="store_true", help="build the stores again even if they match")
    parser.add_argument("--sqlite-cache-mib", type=int, default=0,
                        help="PRAGMA cache_size for the store's and the floor's SQLite connections (default: "
                             "SQLite's own 2 MiB)")
    args = parser.parse_args()
    os.environ.pop("LINEAGE_DB_URL", None)
    os.environ.pop("LINEAGE_READ_ONLY", None)
    started = time.time()
    results = []
    for backend in args.backends.split(","):
        print(f"[{backend}]", file=sys.stderr)
        store, mid = open_store(backend, args)
        if backend == "sqlite" and args.sqlite_cache_mib:
            tune_sqlite(store, args.sqlite_cache_mib)
        floor = Floor(store, backend, args)
        cases = []
        for case in pick_cases(store, mid):
            measured = time_case(store, floor, backend, case, args.repeats)
            print(f"  {case['name']:<38} {measured['nodes']:>6} nodes  floor "
                  f"{median(measured['times']['floor']) * 1000:7.3f} ms  API "
                  f"{median(measured['times']['api']) * 1000:7.3f} ms", file=sys.stderr)
            cases.append(measured)
        floor.close()
        audit = time_audit(store, args.audit_repeats)
        print(f"  audit verify {audit['events']:,} events: {statistics.median(audit['times']):.2f} s",
              file=sys.stderr)
        store.close()
        title = f"{backend}, cache_size {args.sqlite_cache_mib} MiB" if backend == "sqlite" and \
            args.sqlite_cache_mib else backend
        print(report(title, cases, audit), flush=True)
        results.append({"backend": backend, "cases": cases, "audit": audit})
    path = write_results("graph", {"params": params_of(args), "repeats": args.repeats,
                                   "sqlite_cache_mib": args.sqlite_cache_mib,
                                   "seconds": time.time() - started, "results": results})
    print(f"raw samples: {path}")


if __name__ == "__main__":
    main()
