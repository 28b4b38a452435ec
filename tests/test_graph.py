"""Trace and impact over the lineage graph, on SQLite and PostgreSQL, built with the real services."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import event

from lineage.cli import main
from lineage.errors import NotFoundError
from lineage.features.materialize import materialize
from lineage.graph import impact, trace
from lineage.graph_render import dot_string, node_label
from lineage.store import Store
from lineage.tables import Edge
from tests.factories import write_parquet

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
RAW = SAMPLE / "customers_raw_2026_02_01.csv"
CLEAN = SAMPLE / "customers_clean_v1.0.parquet"
V2_0 = (SAMPLE / "schemas" / "customer_features_2.0.0.json", "sample_data.features.customer_features_2_0")
V2_1 = (SAMPLE / "schemas" / "customer_features_2.1.0.json", "sample_data.features.customer_features_2_1")
FEATURES = "customer_features_values@2.1.0-customers_clean-v1.0"
CODE = {"git_commit": "", "git_dirty": None, "entrypoint": "train.py", "workdir": ""}


def register_model(store: Store, ref: str, tmp_path: Path, *, inputs: list[str],
                   feature_set: str | None = None, metrics: dict | None = None) -> None:
    artifact = tmp_path / f"{ref.replace('@', '-')}.pkl"
    artifact.write_bytes(f"artifact of {ref}".encode())
    store.models.register(ref, artifact=artifact, inputs=inputs, feature_set=feature_set, code=CODE,
                          environment={}, metrics=metrics or {"auc": 0.8})


@pytest.fixture
def chain(store: Store, tmp_path: Path) -> Store:
    """raw → processed → features (materialised from customer_features@2.1.0) → churn@1.0.0."""
    store.snapshots.add(RAW, dataset="customers_raw", version="2026_02_01", stage="raw", note="CRM export")
    store.snapshots.add(CLEAN, dataset="customers_clean", version="v1.0", stage="processed",
                        parents=["customers_raw@2026_02_01"], transform="sample_data/clean.py:clean_customers")
    store.features.register(*V2_1)
    materialize(store, "customer_features@2.1.0", "customers_clean@v1.0")
    register_model(store, "churn@1.0.0", tmp_path, inputs=["customers_clean@v1.0:train", f"{FEATURES}:features"],
                   feature_set="customer_features@2.1.0")
    return store


def add_small(store: Store, tmp_path: Path, name: str, seed: int, parents: tuple[str, ...] = (),
              stage: str = "processed", note: str = "") -> str:
    path = write_parquet(tmp_path / f"{name}-{seed}.parquet", rows=20, seed=seed)
    return store.snapshots.add(path, dataset=name, version="v1", stage=stage, parents=parents, note=note).ref


def edge_set(graph) -> set[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    refs = {n.id: n.ref for n in graph.nodes}
    return {(refs[e.parent], refs[e.child], e.relation) for e in graph.edges}


def now() -> datetime:
    moment = datetime.now(UTC)
    time.sleep(0.01)  # records before and after differ by more than the clock's resolution
    return moment


# -- trace ------------------------------------------------------------------------------------
def test_trace_of_a_model_reaches_raw_snapshots_with_every_hash(chain: Store) -> None:
    graph = trace(chain, "churn@1.0.0")
    model = chain.models.get("churn@1.0.0")
    feature_set = chain.features.get("customer_features@2.1.0")
    assert graph.root == graph.nodes[0].id and graph.nodes[0].ref == "churn@1.0.0"
    assert graph.nodes[0].sha256 == model.artifact["sha256"]
    by_ref = {n.ref: n for n in graph.nodes}
    assert set(by_ref) == {"churn@1.0.0", "customer_features@2.1.0", FEATURES, "customers_clean@v1.0",
                           "customers_raw@2026_02_01"}
    for ref in (FEATURES, "customers_clean@v1.0", "customers_raw@2026_02_01"):
        assert by_ref[ref].sha256 == chain.snapshots.get(ref).sha256
    assert [by_ref[r].stage for r in (FEATURES, "customers_clean@v1.0", "customers_raw@2026_02_01")] == \
        ["features", "processed", "raw"]
    fs_node = by_ref["customer_features@2.1.0"]
    assert fs_node.kind == "feature_set_version" and fs_node.sha256 == feature_set.set_hash.removeprefix("sha256:")
    assert fs_node.details["code_hashes"] == {f.name: f.code_hash for f in feature_set.features}
    assert by_ref["customers_raw@2026_02_01"].depth == 2  # via the train edge, the shortest way
    assert edge_set(graph) == {
        ("customers_clean@v1.0", "churn@1.0.0", "train"),
        (FEATURES, "churn@1.0.0", "features"),
        ("customer_features@2.1.0", "churn@1.0.0", "uses_features"),
        ("customer_features@2.1.0", FEATURES, "materialized"),
        ("customers_clean@v1.0", FEATURES, "derived_from"),
        ("customers_raw@2026_02_01", "customers_clean@v1.0", "derived_from"),
    }
    transforms = {(e.relation, e.transform) for e in graph.edges if e.transform}
    assert ("derived_from", "sample_data/clean.py:clean_customers") in transforms


def test_trace_json_has_the_agreed_shape(chain: Store) -> None:
    doc = json.loads(json.dumps(trace(chain, "churn@1.0.0").to_json()))
    assert {"root", "nodes", "edges", "as_of"} <= set(doc) and doc["as_of"] is None
    assert re.fullmatch(r"model_version:\d+", doc["root"])
    assert all({"id", "kind", "ref", "sha256"} <= set(n) for n in doc["nodes"])
    assert all(re.fullmatch(rf"{n['kind']}:\d+", n["id"]) for n in doc["nodes"])
    assert all(set(e) == {"from", "to", "relation"} for e in doc["edges"])
    ids = {n["id"] for n in doc["nodes"]}
    assert all(e["from"] in ids and e["to"] in ids for e in doc["edges"])
    snapshot = next(n for n in doc["nodes"] if n["ref"] == "customers_raw@2026_02_01")
    assert {"stage", "rows", "dataset", "version", "created_at"} <= set(snapshot)
    model = doc["nodes"][0]
    assert model["metrics"] == {"auc": 0.8} and model["aliases"] == [] and model["holds_alias"] is False
    assert doc == trace(chain, "churn@1.0.0").to_json()  # deterministic


def test_refs_resolve_aliases_names_prefixes_and_feature_sets(chain: Store) -> None:
    chain.models.promote("churn@1.0.0", alias="production", reason="first")
    assert trace(chain, "churn@production").root_node.ref == "churn@1.0.0"
    assert trace(chain, "churn").root_node.ref == "churn@1.0.0"
    assert trace(chain, "churn@production").root == trace(chain, "churn@1.0.0").root
    assert chain.models.get("churn@production").ref == trace(chain, "churn@production").root_node.ref
    raw = chain.snapshots.get("customers_raw@2026_02_01")
    assert trace(chain, raw.sha256[:10]).root_node.ref == raw.ref
    assert trace(chain, "customers_clean").root_node.ref == "customers_clean@v1.0"
    upstream = trace(chain, "customer_features@2.1.0")
    assert upstream.root_node.kind == "feature_set_version" and len(upstream.nodes) == 1
    assert {n.ref for n in trace(chain, FEATURES).nodes} == {
        FEATURES, "customer_features@2.1.0", "customers_clean@v1.0", "customers_raw@2026_02_01"}


def test_a_name_is_tried_as_model_then_feature_set_then_snapshot(chain: Store, tmp_path: Path) -> None:
    add_small(chain, tmp_path, "customer_features", 1)  # a dataset named like the feature set
    register_model(chain, "customers_clean@1.0.0", tmp_path, inputs=["customers_raw@2026_02_01"])
    assert trace(chain, "customer_features@2.1.0").root_node.kind == "feature_set_version"
    assert trace(chain, "customer_features@v1").root_node.kind == "snapshot"
    assert trace(chain, "customers_clean@1.0.0").root_node.kind == "model_version"
    assert trace(chain, "customers_clean@v1.0").root_node.kind == "snapshot"  # no such model version
    register_model(chain, "customer_features@2.1.0", tmp_path, inputs=["customers_raw@2026_02_01"])
    assert trace(chain, "customer_features@2.1.0").root_node.kind == "model_version"


def test_unknown_refs_raise_not_found_naming_what_exists(chain: Store) -> None:
    with pytest.raises(NotFoundError, match=r"churn has no version or alias '9\.9\.9' \(versions: 1\.0\.0\)"):
        trace(chain, "churn@9.9.9")
    with pytest.raises(NotFoundError, match="no model, feature set, snapshot or dataset matches 'nothing'"):
        impact(chain, "nothing")


# -- impact -----------------------------------------------------------------------------------
def test_impact_of_a_raw_snapshot_reaches_models_and_marks_alias_holders(chain: Store, tmp_path: Path) -> None:
    register_model(chain, "churn@1.1.0", tmp_path, inputs=["customers_clean@v1.0:train"])
    chain.models.promote("churn@1.1.0", alias="production", reason="better")
    chain.models.promote("churn@1.0.0", alias="staging", reason="shadow")
    graph = impact(chain, "customers_raw@2026_02_01")
    assert {n.ref for n in graph.nodes} == {"customers_raw@2026_02_01", "customers_clean@v1.0", FEATURES,
                                             "churn@1.0.0", "churn@1.1.0"}
    assert {n.ref: n.aliases for n in graph.alias_holders()} == {"churn@1.1.0": ("production",),
                                                                 "churn@1.0.0": ("staging",)}
    doc = graph.to_json()
    assert all(isinstance(n["holds_alias"], bool) and "aliases" in n for n in doc["nodes"])
    assert [n["ref"] for n in doc["nodes"] if n["holds_alias"]] == ["churn@1.0.0", "churn@1.1.0"]
    assert graph.nodes[0].ref == "customers_raw@2026_02_01" and graph.node(graph.root).depth == 0


def test_impact_of_a_feature_set_version_lists_materialisations_and_models(chain: Store) -> None:
    graph = impact(chain, "customer_features@2.1.0")
    assert edge_set(graph) == {("customer_features@2.1.0", FEATURES, "materialized"),
                               ("customer_features@2.1.0", "churn@1.0.0", "uses_features"),
                               (FEATURES, "churn@1.0.0", "features")}
    assert [n.ref for n in graph.nodes].count("churn@1.0.0") == 1


# -- shapes -----------------------------------------------------------------------------------
def test_a_ten_deep_parent_chain_is_walked_both_ways(store: Store, tmp_path: Path) -> None:
    refs = [add_small(store, tmp_path, "level0", 0, stage="raw")]
    for level in range(1, 11):
        refs.append(add_small(store, tmp_path, f"level{level}", level, parents=(refs[-1],)))
    up = trace(store, refs[-1])
    assert [n.ref for n in up.nodes] == refs[::-1] and [n.depth for n in up.nodes] == list(range(11))
    assert len(up.edges) == 10 and not up.truncated
    down = impact(store, refs[0])
    assert [n.ref for n in down.nodes] == refs and down.nodes[-1].depth == 10
    assert len(trace(store, refs[-1], max_depth=4).nodes) == 5


def test_a_diamond_node_reached_twice_appears_once(store: Store, tmp_path: Path) -> None:
    top = add_small(store, tmp_path, "top", 1, stage="raw")
    left = add_small(store, tmp_path, "left", 2, parents=(top,))
    right = add_small(store, tmp_path, "right", 3, parents=(top,))
    bottom = add_small(store, tmp_path, "bottom", 4, parents=(left, right))
    up = trace(store, bottom)
    assert sorted(n.ref for n in up.nodes) == sorted([top, left, right, bottom])
    assert len(up.edges) == 4 and up.node(next(n.id for n in up.nodes if n.ref == top)).depth == 2
    down = impact(store, top)
    assert [n.ref for n in down.nodes].count(bottom) == 1 and len(down.edges) == 4


def test_a_cycle_cannot_loop_forever(store: Store, tmp_path: Path) -> None:
    first = add_small(store, tmp_path, "first", 1, stage="raw")
    second = add_small(store, tmp_path, "second", 2, parents=(first,))
    ids = {n.ref: int(n.id.split(":")[1]) for n in trace(store, second).nodes}
    with store.db.session(write=True) as session:  # only a hand-edited database can hold a cycle
        session.add(Edge(parent_kind="snapshot", parent_id=ids[second], child_kind="snapshot",
                         child_id=ids[first], relation="derived_from"))
    graph = trace(store, second, max_depth=50)
    assert {n.ref for n in graph.nodes} == {first, second} and len(graph.edges) == 2 and graph.truncated


# -- as of --------------------------------------------------------------------------------------
def test_as_of_before_and_after_a_registration(chain: Store, tmp_path: Path) -> None:
    before = now()
    register_model(chain, "churn@1.1.0", tmp_path, inputs=["customers_clean@v1.0:train"])
    after = now()
    assert "churn@1.1.0" not in {n.ref for n in impact(chain, "customers_clean@v1.0", as_of=before).nodes}
    assert "churn@1.1.0" in {n.ref for n in impact(chain, "customers_clean@v1.0", as_of=after).nodes}
    assert trace(chain, "churn", as_of=before).root_node.ref == "churn@1.0.0"  # the highest version then
    assert trace(chain, "churn").root_node.ref == "churn@1.1.0"
    with pytest.raises(NotFoundError, match="after --as-of"):
        trace(chain, "churn@1.1.0", as_of=before)
    graph = trace(chain, "churn@1.1.0", as_of=after)
    assert graph.as_of == after and graph.to_json()["as_of"].startswith(after.strftime("%Y-%m-%dT%H:%M:%S"))


def test_as_of_the_exact_registration_time_keeps_the_inputs(chain: Store) -> None:
    registered = chain.models.get("churn@1.0.0").created_at  # its edges are stamped a moment later
    up = trace(chain, "churn@1.0.0", as_of=registered)
    assert len(up.nodes) == 5 and len(up.edges) == 6
    down = impact(chain, "customers_clean@v1.0", as_of=registered)
    assert "churn@1.0.0" in {n.ref for n in down.nodes}
    just_before = impact(chain, "customers_clean@v1.0", as_of=registered - timedelta(microseconds=1))
    assert "churn@1.0.0" not in {n.ref for n in just_before.nodes}
    assert all(e.child in {n.id for n in just_before.nodes} for e in just_before.edges)


def test_as_of_before_and_after_an_alias_move(chain: Store, tmp_path: Path) -> None:
    register_model(chain, "churn@1.1.0", tmp_path, inputs=["customers_clean@v1.0:train"])
    chain.models.promote("churn@1.0.0", alias="production", reason="first")
    between = now()
    chain.models.promote("churn@1.1.0", alias="production", reason="better")

    def holders(as_of: datetime | None) -> dict[str, tuple[str, ...]]:
        return {n.ref: n.aliases for n in impact(chain, "customers_clean@v1.0", as_of=as_of).alias_holders()}

    assert holders(between) == {"churn@1.0.0": ("production",)}
    assert holders(None) == {"churn@1.1.0": ("production",)}
    assert trace(chain, "churn@production", as_of=between).root_node.ref == "churn@1.0.0"
    assert trace(chain, "churn@production").root_node.ref == "churn@1.1.0"
    before_any = datetime(2000, 1, 1, tzinfo=UTC)
    with pytest.raises(NotFoundError):
        trace(chain, "churn@production", as_of=before_any)


# -- DOT ----------------------------------------------------------------------------------------
TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|->|[{}\[\];,=]|[A-Za-z_][A-Za-z0-9_.]*|-?\d+(?:\.\d+)?|\S')


def parse_dot(source: str) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]]]:
    """A strict little parser for the subset we emit: nodes and edges with attribute lists."""
    tokens = TOKEN.findall(source)
    assert tokens[:3] == ["digraph", "lineage", "{"] and tokens[-1] == "}", tokens[:3]
    nodes: dict[str, dict[str, str]] = {}
    edges: list[tuple[str, str, dict[str, str]]] = []
    pos = 3

    def value(token: str) -> str:
        if token.startswith('"'):
            assert token.endswith('"') and len(token) >= 2
            return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), token[1:-1])
        return token

    def attributes() -> dict[str, str]:
        nonlocal pos
        assert tokens[pos] == "["
        pos += 1
        found = {}
        while tokens[pos] != "]":
            key, equals, raw = tokens[pos:pos + 3]
            assert equals == "=" and re.fullmatch(r"[a-z]+", key), (key, equals)
            found[key] = value(raw)
            pos += 3
            if tokens[pos] == ",":
                pos += 1
        pos += 1
        return found

    while pos < len(tokens) - 1:
        head = tokens[pos]
        if head in ("graph", "node", "edge"):
            pos += 1
            attributes()
        else:
            pos += 1
            if tokens[pos] == "->":
                target = tokens[pos + 1]
                pos += 2
                edges.append((value(head), value(target), attributes()))
            else:
                nodes[value(head)] = attributes()
        assert tokens[pos] == ";", tokens[pos:pos + 3]
        pos += 1
    return nodes, edges


def test_dot_output_parses_and_escapes_user_text(store: Store, tmp_path: Path) -> None:
    note = 'said "hi" \\ then\nleft'
    top = add_small(store, tmp_path, 'odd"name', 1, stage="raw", note=note)
    leaf = add_small(store, tmp_path, "leaf", 2, parents=(top,))
    graph = trace(store, leaf)
    source = graph.to_dot()
    nodes, edges = parse_dot(source)
    assert set(nodes) == {n.id for n in graph.nodes}
    assert [(a, b, attrs["label"]) for a, b, attrs in edges] == [(e.parent, e.child, e.relation) for e in graph.edges]
    odd = next(n for n in graph.nodes if n.ref == top)
    assert nodes[odd.id]["label"] == node_label(odd) and nodes[odd.id]["label"].startswith('odd"name@v1\n')
    assert nodes[odd.id]["tooltip"] == note
    assert nodes[odd.id]["fillcolor"] != nodes[next(n.id for n in graph.nodes if n.ref == leaf)]["fillcolor"]
    assert "\n" not in source.split("tooltip=", 1)[1].split("]", 1)[0]  # no raw line break inside a string
    assert dot_string('a"b\\c\nd\x07') == '"a\\"b\\\\c\\nd "'


def test_dot_colours_kinds_and_stages_apart(chain: Store) -> None:
    nodes, _ = parse_dot(trace(chain, "churn@1.0.0").to_dot())
    colours = {attrs["label"].split("\n")[1].rsplit(" ", 1)[0]: attrs["fillcolor"] for attrs in nodes.values()}
    assert set(colours) == {"model", "feature set", "features snapshot", "processed snapshot", "raw snapshot"}
    assert len(set(colours.values())) == 5


# -- no N+1 -------------------------------------------------------------------------------------
@contextmanager
def counted(store: Store) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(store.db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(store.db.engine, "before_cursor_execute", record)


def test_statement_count_does_not_grow_with_the_graph(chain: Store, tmp_path: Path) -> None:
    with counted(chain) as small_trace:
        small = trace(chain, "churn@1.0.0")
    with counted(chain) as small_impact:
        impact(chain, "customer_features@2.1.0")
    refs = [add_small(chain, tmp_path, "deep0", 0, stage="raw")]
    for level in range(1, 11):  # a ten-deep chain with a diamond on every level
        side = add_small(chain, tmp_path, f"side{level}", 100 + level, parents=(refs[-1],))
        refs.append(add_small(chain, tmp_path, f"deep{level}", level, parents=(refs[-1], side)))
    register_model(chain, "churn@2.0.0", tmp_path, inputs=[f"{refs[-1]}:train", "customers_clean@v1.0:validation",
                                                           f"{FEATURES}:features"],
                   feature_set="customer_features@2.1.0")
    register_model(chain, "churn@2.1.0", tmp_path, inputs=[f"{FEATURES}:features"],
                   feature_set="customer_features@2.1.0")
    chain.models.promote("churn@2.0.0", alias="production", reason="bigger")
    with counted(chain) as big_trace:
        big = trace(chain, "churn@2.0.0")
    with counted(chain) as big_impact:
        wide = impact(chain, "customer_features@2.1.0")
    assert len(big.nodes) >= 4 * len(small.nodes) and len(wide.nodes) == 5
    assert len(big_trace) == len(small_trace) and len(big_impact) == len(small_impact)
    assert sum("RECURSIVE" in s for s in big_trace) == 1
    assert len(big_trace) <= 7  # begin, resolve, walk, one per node kind (+ a rollback/commit)


# -- CLI ----------------------------------------------------------------------------------------
def test_cli_trace_prints_a_tree_json_and_dot(chain: Store) -> None:
    runner = CliRunner()
    tree = runner.invoke(main, ["trace", "churn@1.0.0"])
    assert tree.exit_code == 0, tree.output
    lines = tree.stdout.splitlines()
    assert lines[0].startswith("churn@1.0.0  model  sha256 ")
    assert any("derived_from: customers_raw@2026_02_01  raw snapshot" in line for line in lines)
    doc = json.loads(runner.invoke(main, ["trace", "churn@1.0.0", "--json"]).stdout)
    assert doc == trace(chain, "churn@1.0.0").to_json()
    dot = runner.invoke(main, ["trace", "churn@1.0.0", "--dot"]).stdout
    assert parse_dot(dot)[0]
    both = runner.invoke(main, ["trace", "churn@1.0.0", "--dot", "--json"])
    assert both.exit_code == 2


def test_cli_impact_marks_alias_holders_and_takes_as_of(chain: Store) -> None:
    chain.models.promote("churn@1.0.0", alias="production", reason="first")
    runner = CliRunner()
    result = runner.invoke(main, ["impact", "customers_clean@v1.0"])
    assert result.exit_code == 0, result.output
    assert "churn@1.0.0  model  sha256" in result.stdout and "[production]" in result.stdout
    assert result.stdout.splitlines()[-1].endswith("holding an alias: churn@1.0.0 [production]")
    past = runner.invoke(main, ["impact", "customers_clean@v1.0", "--as-of", "2000-01-01", "--json"])
    assert past.exit_code == 2 and "after --as-of" in past.stderr
    doc = json.loads(runner.invoke(main, ["impact", "customers_raw@2026_02_01", "--json"]).stdout)
    assert [n["ref"] for n in doc["nodes"] if n["holds_alias"]] == ["churn@1.0.0"]


def test_cli_unknown_ref_is_one_line_and_exit_2(chain: Store) -> None:
    result = CliRunner().invoke(main, ["trace", "nope@1.0.0"])
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")
    bad_time = CliRunner().invoke(main, ["impact", "customers_raw", "--as-of", "yesterday"])
    assert bad_time.exit_code == 2 and "ISO 8601" in bad_time.stderr
