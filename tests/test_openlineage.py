"""OpenLineage export: every event validates against the official JSON schemas (offline) and parses with
the openlineage-python client; the custom facet carries model and feature-set identity."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import attr
import jsonschema
import pytest
from click.testing import CliRunner
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from lineage.cli import main as cli_main
from lineage.config import Settings
from lineage.openlineage import (
    LINEAGE_ML_FACET_SCHEMA,
    ML_FACET,
    ML_FACET_SCHEMA_URL,
    SNAPSHOT_FACET,
    SNAPSHOT_FACET_SCHEMA_URL,
    export_events,
    post,
    write_jsonl,
)
from lineage.store import Store

SPECS = Path(__file__).resolve().parents[2] / "shared" / "specs" / "openlineage"
if not (SPECS / "OpenLineage.json").exists():  # the checkout may live elsewhere; the shared specs sit beside it
    SPECS = Path("/work/shared/specs/openlineage")


# -- offline JSON schema validation -------------------------------------------------------------
def _registry() -> tuple[Registry, dict[str, str]]:
    """Every official schema under its $id, plus our custom facet schema; facet key -> facet file $id."""
    resources = []
    facet_ids: dict[str, list[str]] = {}
    for path in [SPECS / "OpenLineage.json", *sorted((SPECS / "facets").glob("*.json"))]:
        document = json.loads(path.read_text())
        resources.append((document["$id"], Resource.from_contents(document, default_specification=DRAFT202012)))
        for key in document.get("properties", {}):
            facet_ids.setdefault(key, []).append(document["$id"])
    resources.append((LINEAGE_ML_FACET_SCHEMA["$id"],
                      Resource.from_contents(LINEAGE_ML_FACET_SCHEMA, default_specification=DRAFT202012)))
    return Registry().with_resources(resources), facet_ids  # type: ignore[return-value]


REGISTRY, FACET_FILES = _registry()
CORE_ID = json.loads((SPECS / "OpenLineage.json").read_text())["$id"]
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def _validate(instance: Any, schema_url: str) -> None:
    """Validate against the schema a URL (with #/$defs/... fragment) names, resolving $refs locally only."""
    validator = jsonschema.Draft202012Validator({"$ref": schema_url}, registry=REGISTRY, format_checker=FORMATS)
    validator.validate(instance)


def _validate_event(event: dict[str, Any]) -> None:
    assert event["schemaURL"] == f"{CORE_ID}#/$defs/RunEvent"
    _validate(event, CORE_ID)  # top-level oneOf RunEvent | DatasetEvent | JobEvent
    _validate(event, event["schemaURL"])
    containers = [event["run"].get("facets", {}), event["job"].get("facets", {})]
    containers += [d.get("facets", {}) for d in event.get("inputs", []) + event.get("outputs", [])]
    for facets in containers:
        for key, facet in facets.items():
            if key in FACET_FILES:  # a standard facet: its schemaURL is the official file, checked by that file
                assert facet["_schemaURL"].split("#")[0] in FACET_FILES[key], (key, facet["_schemaURL"])
                _validate(facet, facet["_schemaURL"])
            else:  # custom facets must be prefixed (never a standard key) and carry _producer/_schemaURL
                assert key.startswith("lineage_"), key
                assert facet["_schemaURL"] in (ML_FACET_SCHEMA_URL, SNAPSHOT_FACET_SCHEMA_URL)
                _validate(facet, facet["_schemaURL"])


# -- parsing with the openlineage-python client ----------------------------------------------------
def _client_parse(event: dict[str, Any]) -> Any:
    """Build the client's typed RunEvent from the dict (the client has no deserializer of its own)."""
    from openlineage.client import event_v2
    from openlineage.client.generated import (
        column_lineage_dataset,
        dataset_version_dataset,
        error_message_run,
        job_type_job,
        schema_dataset,
        source_code_location_job,
    )
    from openlineage.client.generated.base import DatasetFacet, RunFacet

    @attr.define
    class LineageMLRunFacet(RunFacet):
        kind: str
        auditSeq: int  # noqa: N815
        auditHash: str  # noqa: N815
        model: dict | None = None
        featureSet: dict | None = None  # noqa: N815
        linkage: dict | None = None

        @staticmethod
        def _get_schema() -> str:
            return ML_FACET_SCHEMA_URL

    @attr.define
    class LineageSnapshotDatasetFacet(DatasetFacet):
        ref: str
        version: str
        stage: str
        sha256: str
        rows: int
        format: str
        fingerprint: str

        @staticmethod
        def _get_schema() -> str:
            return SNAPSHOT_FACET_SCHEMA_URL

    def fields(facet: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in facet.items() if not k.startswith("_")}

    def schema_fields(items: list[dict[str, Any]]) -> list[Any]:
        return [schema_dataset.SchemaDatasetFacetFields(
            **{**f, **({"fields": schema_fields(f["fields"])} if "fields" in f else {})}) for f in items]

    def input_field(item: dict[str, Any]) -> Any:
        return column_lineage_dataset.InputField(
            namespace=item["namespace"], name=item["name"], field=item["field"],
            transformations=[column_lineage_dataset.Transformation(**t) for t in item.get("transformations", [])])

    builders = {
        "schema": lambda f: schema_dataset.SchemaDatasetFacet(fields=schema_fields(f["fields"])),
        "version": lambda f: dataset_version_dataset.DatasetVersionDatasetFacet(**fields(f)),
        "columnLineage": lambda f: column_lineage_dataset.ColumnLineageDatasetFacet(fields={
            name: column_lineage_dataset.Fields(inputFields=[input_field(i) for i in value["inputFields"]])
            for name, value in f["fields"].items()}, dataset=[input_field(i) for i in f.get("dataset", [])]),
        "sourceCodeLocation": lambda f: source_code_location_job.SourceCodeLocationJobFacet(**fields(f)),
        "jobType": lambda f: job_type_job.JobTypeJobFacet(**fields(f)),
        "errorMessage": lambda f: error_message_run.ErrorMessageRunFacet(**fields(f)),
        ML_FACET: lambda f: LineageMLRunFacet(**fields(f)),
        SNAPSHOT_FACET: lambda f: LineageSnapshotDatasetFacet(**fields(f)),
    }

    def facets(container: dict[str, Any]) -> dict[str, Any]:
        built = {}
        for key, value in container.items():
            facet = builders[key](value)
            facet._producer = value["_producer"]
            built[key] = facet
        return built

    return event_v2.RunEvent(
        eventType=event_v2.RunState(event["eventType"]),
        eventTime=event["eventTime"],
        run=event_v2.Run(runId=event["run"]["runId"], facets=facets(event["run"]["facets"])),
        job=event_v2.Job(namespace=event["job"]["namespace"], name=event["job"]["name"],
                         facets=facets(event["job"]["facets"])),
        inputs=[event_v2.InputDataset(namespace=d["namespace"], name=d["name"], facets=facets(d["facets"]))
                for d in event["inputs"]],
        outputs=[event_v2.OutputDataset(namespace=d["namespace"], name=d["name"], facets=facets(d["facets"]))
                 for d in event["outputs"]],
        producer=event["producer"],
    )


# -- the store ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo store (snapshots, derivation, materialisations, trained churn models) plus one failed run."""
    from lineage.demo import load_demo

    home = tmp_path_factory.mktemp("openlineage") / "home"
    with Store.init(home) as store:
        load_demo(store)
        with pytest.raises(RuntimeError), store.runs.track(model="churn", version="9.9.9", seed=7) as run:
            run.input("customers_clean@v1.0")
            raise RuntimeError("diverged at epoch 3")
    yield home


@pytest.fixture
def demo_store(demo_home: Path) -> Iterator[Store]:
    with Store.open(demo_home) as store:
        yield store


@pytest.fixture(scope="module")
def events(demo_home: Path) -> list[dict[str, Any]]:
    with Store.open(demo_home) as store:
        return list(export_events(store))


def test_every_event_validates_against_the_official_schemas(events: list[dict[str, Any]]) -> None:
    assert events
    for event in events:
        _validate_event(json.loads(json.dumps(event)))


def test_every_event_parses_with_the_openlineage_client(events: list[dict[str, Any]]) -> None:
    from openlineage.client.serde import Serde

    for event in events:
        parsed = Serde.to_dict(_client_parse(event))
        for dataset in parsed["inputs"] + parsed["outputs"]:  # the client adds these, empty
            for key in ("inputFacets", "outputFacets"):
                if dataset.get(key) == {}:
                    del dataset[key]
            for column in dataset["facets"].get("schema", {}).get("fields", []):  # and default nested fields: []
                if column.get("fields") == []:
                    del column["fields"]
        assert parsed == json.loads(json.dumps(event)), event["job"]["name"]


def test_validation_rejects_a_broken_event(events: list[dict[str, Any]]) -> None:
    broken = json.loads(json.dumps(events[0]))
    broken["run"]["runId"] = "not-a-uuid"
    with pytest.raises(jsonschema.ValidationError):
        _validate_event(broken)
    broken = json.loads(json.dumps(events[0]))
    del broken["outputs"][0]["facets"]["version"]["datasetVersion"]
    with pytest.raises(jsonschema.ValidationError):
        _validate_event(broken)


def test_snapshot_registration_derivation_and_materialisation(
        events: list[dict[str, Any]], demo_store: Store) -> None:
    by_output = {}
    for event in events:
        for output in event["outputs"]:
            by_output.setdefault(output["name"], []).append(event)
    raw = by_output["customers_raw"][0]
    assert raw["eventType"] == "COMPLETE" and raw["job"]["name"] == "lineage.snapshot.add"
    snapshot = demo_store.snapshots.get("customers_raw@2026_02_01")
    output = raw["outputs"][0]
    assert output["facets"]["version"]["datasetVersion"] == snapshot.sha256
    assert [f["name"] for f in output["facets"]["schema"]["fields"]] == [c["name"] for c in snapshot.schema]
    assert output["facets"][SNAPSHOT_FACET]["ref"] == "customers_raw@2026_02_01"

    clean = by_output["customers_clean"][0]
    assert clean["job"]["name"] == "sample_data/clean.py:clean_customers"
    assert [i["name"] for i in clean["inputs"]] == ["customers_raw"]
    parent = demo_store.snapshots.get("customers_raw@2026_02_01")
    assert clean["inputs"][0]["facets"]["version"]["datasetVersion"] == parent.sha256

    materialised = {e["job"]["name"]: e for e in by_output["customer_features_values"]}
    event = materialised["customer_features@2.1.0"]
    facet = event["run"]["facets"][ML_FACET]
    assert facet["kind"] == "materialization"
    assert facet["featureSet"]["ref"] == "customer_features@2.1.0"
    assert facet["featureSet"]["setHash"] == demo_store.features.get("customer_features@2.1.0").set_hash
    assert event["job"]["facets"]["sourceCodeLocation"]["url"].startswith("file://")
    lineage = event["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert lineage["customer_id"]["inputFields"][0]["name"] == "customers_clean"
    assert lineage["customer_id"]["inputFields"][0]["field"] == "customer_id"
    ordering = event["outputs"][0]["facets"]["columnLineage"]["dataset"]
    assert {(i["field"], i["transformations"][0]["subtype"]) for i in ordering} == {
        ("customer_id", "SORT"), ("reference_date", "SORT")}


def test_training_runs_carry_model_and_feature_set_identity(
        events: list[dict[str, Any]], demo_store: Store) -> None:
    training = [e for e in events if e["job"]["name"] == "churn.train" and e["eventType"] == "COMPLETE"]
    assert training
    for event in training:
        facet = event["run"]["facets"][ML_FACET]
        model = demo_store.models.get(facet["model"]["ref"])
        assert facet["kind"] == "training"
        assert facet["model"]["version"] == model.version
        assert facet["model"]["artifactSha256"] == model.artifact["sha256"]
        assert facet["featureSet"]["ref"] == model.feature_set
        assert facet["linkage"] == model.linkage_record()
        assert event["outputs"] == [{"namespace": event["job"]["namespace"], "name": "models/churn", "facets": {
            "version": {**event["outputs"][0]["facets"]["version"], "datasetVersion": model.artifact["sha256"]}}}]
        assert sorted(i["name"] for i in event["inputs"]) == sorted(i.ref.partition("@")[0] for i in model.inputs)
        location = event["job"]["facets"]["sourceCodeLocation"]
        assert location["type"] == "git" and location["version"] == model.code["git_commit"]


def test_failed_run_is_a_fail_event(events: list[dict[str, Any]]) -> None:
    failed = [e for e in events if e["eventType"] == "FAIL"]
    assert len(failed) == 1
    event = failed[0]
    assert event["job"]["name"] == "churn.train"
    assert "diverged at epoch 3" in event["run"]["facets"]["errorMessage"]["message"]
    assert event["run"]["facets"][ML_FACET]["model"]["ref"] == "churn@9.9.9"
    assert [i["name"] for i in event["inputs"]] == ["customers_clean"]


def test_export_is_deterministic_and_run_ids_are_unique(events: list[dict[str, Any]], demo_store: Store) -> None:
    again = list(export_events(demo_store))
    assert again == events
    assert len({e["run"]["runId"] for e in events}) == len(events)


def test_since_filters_by_audit_time(events: list[dict[str, Any]], demo_store: Store) -> None:
    from datetime import datetime

    times = sorted(datetime.fromisoformat(e["eventTime"].replace("Z", "+00:00")) for e in events)
    cut = times[len(times) // 2]
    later = list(export_events(demo_store, since=cut))
    assert later == [e for e in events if datetime.fromisoformat(e["eventTime"].replace("Z", "+00:00")) >= cut]
    assert 0 < len(later) < len(events)
    assert list(export_events(demo_store, since=times[-1] + timedelta(seconds=1))) == []


def test_cli_writes_json_lines_and_filters_since(
        events: list[dict[str, Any]], demo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_HOME", str(demo_home))
    target = tmp_path / "events.jsonl"
    result = CliRunner().invoke(cli_main, ["export", "openlineage", "-o", str(target)])
    assert result.exit_code == 0, result.output
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == json.loads(json.dumps(events))
    for line in lines:
        _validate_event(json.loads(line))

    last = events[-1]["eventTime"]
    result = CliRunner().invoke(cli_main, ["export", "openlineage", "--since", last])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        e for e in json.loads(json.dumps(events)) if e["eventTime"] >= last]

    result = CliRunner().invoke(cli_main, ["export", "openlineage", "--since", "yesterday"])
    assert result.exit_code == 2 and "ISO 8601" in result.output


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    received: list[tuple[str, str, bytes]] = []
    handler = type("Handler", (_Collector,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api/v1/lineage", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_post_sends_each_event_to_the_endpoint(
        events: list[dict[str, Any]], endpoint: tuple[str, list[tuple[str, str, bytes]]]) -> None:
    url, received = endpoint
    assert post(events, url) == len(events)
    assert [r[0] for r in received] == ["/api/v1/lineage"] * len(events)
    assert {r[1] for r in received} == {"application/json"}
    assert [json.loads(r[2]) for r in received] == json.loads(json.dumps(events))


def test_cli_posts_with_url(
        events: list[dict[str, Any]], demo_home: Path, monkeypatch: pytest.MonkeyPatch,
        endpoint: tuple[str, list[tuple[str, str, bytes]]]) -> None:
    monkeypatch.setenv("LINEAGE_HOME", str(demo_home))
    url, received = endpoint
    result = CliRunner().invoke(cli_main, ["export", "openlineage", "--url", url])
    assert result.exit_code == 0, result.output
    assert len(received) == len(events)


def test_post_to_a_dead_endpoint_is_a_clean_error(events: list[dict[str, Any]]) -> None:
    from lineage.errors import LineageError

    with pytest.raises(LineageError, match="could not POST"):
        post(events[:1], "http://127.0.0.1:9/api/v1/lineage", timeout=2)


def test_write_jsonl_counts(events: list[dict[str, Any]], tmp_path: Path) -> None:
    assert write_jsonl(iter(events), tmp_path / "x.jsonl") == len(events)
    assert not (tmp_path / "x.jsonl.tmp").exists()


# -- the fast path: JSON lines, slices, batched reads -------------------------------------------
def test_export_lines_are_byte_for_byte_the_events_lines(events: list[dict[str, Any]], demo_store: Store) -> None:
    from lineage.openlineage import export_lines, to_json_line

    assert list(export_lines(demo_store, workers=1)) == [to_json_line(e) for e in events]


def test_sliced_export_on_several_processes_equals_the_serial_one(
        demo_store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import lineage.openlineage_slices as slices
    from lineage.openlineage import export_lines

    serial = list(export_lines(demo_store, workers=1))
    monkeypatch.setattr(slices, "MIN_SLICE", 5)  # the demo log is short: force three slices
    first, last = demo_store.audit.seq_span()
    assert (last - first + 1) // 5 >= 3
    assert list(export_lines(demo_store, workers=3)) == serial
    cut = demo_store.audit.log()[len(demo_store.audit.log()) // 2].at
    assert list(export_lines(demo_store, workers=3, since=cut)) == list(export_lines(demo_store, workers=1, since=cut))
    from lineage.openlineage import export_items, write_jsonl

    items = list(export_items(demo_store, workers=3))  # the file path: workers' slices appended in bulk
    assert [type(i).__name__ for i in items].count("WrittenLines") == 2
    out = tmp_path / "sliced.jsonl"
    assert write_jsonl(export_items(demo_store, workers=3), out) == len(serial)
    assert out.read_text(encoding="utf-8") == "".join(line + "\n" for line in serial)


def test_run_ids_are_uuid5_of_the_event_hash(demo_store: Store) -> None:
    import uuid

    from lineage.openlineage import _RUN_NAMESPACE, run_id

    for entry in demo_store.audit.log():
        assert run_id(entry) == str(uuid.uuid5(_RUN_NAMESPACE, entry.hash))


def test_audit_pages_cover_the_log_in_order_with_bounds_and_action_filter(demo_store: Store) -> None:
    everything = demo_store.audit.log()
    pages = list(demo_store.audit.pages(size=7))
    assert all(len(page) <= 7 for page in pages) and [e for page in pages for e in page] == everything
    first, last = demo_store.audit.seq_span()
    assert (first, last) == (everything[0].seq, everything[-1].seq)
    middle = [e for page in demo_store.audit.pages(size=3, first=5, last=12) for e in page]
    assert [e.seq for e in middle] == list(range(5, 13))
    adds = [e for page in demo_store.audit.pages(actions=["snapshot.add"], size=4) for e in page]
    assert adds == [e for e in everything if e.action == "snapshot.add"]
    assert demo_store.audit.seq_span(since=everything[-1].at + timedelta(seconds=1)) == (0, -1)


def test_cli_writes_a_file_and_posts_in_one_pass(
        events: list[dict[str, Any]], demo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        endpoint: tuple[str, list[tuple[str, str, bytes]]]) -> None:
    monkeypatch.setenv("LINEAGE_HOME", str(demo_home))
    url, received = endpoint
    target = tmp_path / "events.jsonl"
    result = CliRunner().invoke(cli_main, ["export", "openlineage", "-o", str(target), "--url", url])
    assert result.exit_code == 0, result.output
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [r[2].decode("utf-8") for r in received] == lines and len(lines) == len(events)


def test_a_failed_post_leaves_no_partial_file(demo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_HOME", str(demo_home))
    target = tmp_path / "events.jsonl"
    result = CliRunner().invoke(cli_main, ["export", "openlineage", "-o", str(target), "--url",
                                           "http://127.0.0.1:9/api/v1/lineage"])
    assert result.exit_code == 2 and "could not POST" in result.output
    assert not target.exists() and not (tmp_path / "events.jsonl.tmp").exists()


def test_lines_are_canonical_json_even_for_values_orjson_refuses() -> None:
    """orjson encodes; a value it refuses (65-bit int, non-string key) falls back to the standard encoder."""
    import math

    from lineage.audit_service import _payload
    from lineage.openlineage_io import to_json_line

    def standard(value: object) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    for value in ({"b": [1, 2.5, "é\u2028\x01"], "a": {"z": None, "y": True}}, {"n": 2**70}, {1: "x"}):
        assert to_json_line(value) == standard(value)
    assert to_json_line({"loss": math.nan, "gain": math.inf}) == '{"gain":null,"loss":null}'  # valid JSON, not NaN
    assert _payload('{"m": 0.85, "k": [1, "é"]}') == {"m": 0.85, "k": [1, "é"]}
    assert math.isnan(_payload('{"loss": NaN}')["loss"]) and _payload('{"n": 1180591620717411303424}')["n"] == 2**70


@pytest.mark.parametrize("args,expected", [
    (["-o", "{tmp}/missing-folder/events.jsonl"], "does not exist"),
    (["-o", "{tmp}"], "is a directory"),  # click.Path says so, on one line
    (["-o", ""], "-o is empty"),
    (["--url", "not-a-url"], "not an http:// or https:// URL"),
    (["--url", "ftp://marquez/api/v1/lineage"], "not an http:// or https:// URL"),
    (["--url", "http://"], "not an http:// or https:// URL"),
    (["--url", "not-a-url", "-o", "{tmp}/events.jsonl"], "not an http:// or https:// URL"),
    (["--namespace", ""], "--namespace is empty"),
    (["--since", "9999-12-31T23:00:00-05:00"], "outside the years 1 to 9999"),
])
def test_bad_export_options_are_one_line_and_write_nothing(demo_home: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           args: list[str], expected: str) -> None:
    monkeypatch.setenv("LINEAGE_HOME", str(demo_home))
    result = CliRunner().invoke(cli_main, ["export", "openlineage", *[a.format(tmp=tmp_path) for a in args]])
    assert result.exit_code == 2 and result.stdout == "", result.output
    message = result.stderr.strip()
    assert message.count("\n") == 0 and message.startswith("error: ") and expected in message, message
    assert list(tmp_path.iterdir()) == []


def test_post_refuses_a_url_without_http_scheme_before_sending_anything(events: list[dict[str, Any]]) -> None:
    from lineage.errors import InvalidInputError
    from lineage.openlineage_io import posting

    with pytest.raises(InvalidInputError, match="http:// or https://"):
        posting(iter(events), "marquez:5000/api/v1/lineage")


def test_cli_export_into_a_fifo_and_through_a_symlink(
        events: list[dict[str, Any]], demo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe (`-o >(gzip > x.gz)`) is fed in place; a symlink keeps pointing at the fresh export."""
    import os

    monkeypatch.setenv("LINEAGE_HOME", str(demo_home))
    expected = json.loads(json.dumps(events))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text(encoding="utf-8")), daemon=True)
    reader.start()
    result = CliRunner().invoke(cli_main, ["export", "openlineage", "-o", str(fifo)])
    if reader.is_alive():  # the CLI never opened the pipe: let the reader see end of file
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    reader.join(10)
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in received[0].splitlines()] == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]

    (tmp_path / "exports").mkdir()
    target = tmp_path / "exports" / "events.jsonl"
    target.write_text("stale\n", encoding="utf-8")
    link = tmp_path / "latest.jsonl"
    link.symlink_to(target)
    result = CliRunner().invoke(cli_main, ["export", "openlineage", "-o", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()] == expected
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == ["events.jsonl"]


# -- default namespace ----------------------------------------------------------------------------
def test_team_members_with_their_own_homes_export_under_the_shared_databases_namespace(
    pg_url: str, s3_env: Any, tmp_path: Path,
) -> None:
    from sqlalchemy.engine import make_url

    from lineage.openlineage import default_namespace

    parsed = make_url(pg_url)
    expected = f"lineage://{parsed.host}{f':{parsed.port}' if parsed.port else ''}/{parsed.database}"
    with Store.init(tmp_path / "alice", db_url=pg_url, store_url=s3_env.url()) as alice, \
            Store.open(tmp_path / "bob-home", db_url=pg_url, store_url=s3_env.url()) as bob:
        assert default_namespace(alice) == default_namespace(bob) == expected
    secret = Store(Settings(home=tmp_path / "carol", db_url="postgresql+psycopg://carol:s3cret@db.internal:6432/team"))
    assert default_namespace(secret) == "lineage://db.internal:6432/team"  # never a user or password


def test_a_laptop_store_keeps_its_folder_named_namespace(tmp_path: Path) -> None:
    from lineage.openlineage import default_namespace

    with Store.init(tmp_path / "project" / ".lineage") as laptop:
        assert default_namespace(laptop) == "lineage://project"
    with Store.init(tmp_path / "alice") as named:
        assert default_namespace(named) == "lineage://alice"
    shared_file = f"sqlite:///{tmp_path / 'nfs' / 'team-store' / 'lineage.db'}"
    (tmp_path / "nfs" / "team-store").mkdir(parents=True)
    with Store.init(tmp_path / "dave", db_url=shared_file) as dave, Store.open(tmp_path / "erin", db_url=shared_file) as erin:
        assert default_namespace(dave) == default_namespace(erin) == "lineage://team-store"
