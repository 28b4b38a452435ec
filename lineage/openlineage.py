"""Export the store's history as OpenLineage RunEvents (JSON lines), optionally POSTed to an endpoint.

One COMPLETE RunEvent per registration, read from the audit log (so ``since`` is the
audit time, and every event is reproducible from the chain):

- ``snapshot.add`` of a raw snapshot: job ``lineage.snapshot.add``; the input is the
  source file (when it is a local path), the output the snapshot;
- ``snapshot.add`` of a derived snapshot: job = its transform; inputs = its parents;
- ``snapshot.add`` with a ``materialized`` link: job = the feature-set version; the
  custom ``lineage_ml`` run facet names the feature-set version;
- ``model.register``: the training run; inputs = the model's input snapshots, output
  = the model artifact as the dataset ``models/<model>`` (version = artifact sha256),
  ``sourceCodeLocation`` from the recorded git commit and workdir, and ``lineage_ml``
  with the model version, feature-set version and linkage record;
- ``run.failed``: a FAIL event on the same training job, with ``errorMessage``.

Run ids are uuid5 of the audit event's hash, event times the audit times, so an
export is deterministic. The spec has no ML entities yet, so model and feature-set
identity travel in the custom facet ``lineage_ml`` (custom facets are prefixed and
carry their own ``_producer`` and ``_schemaURL``; its JSON schema is
``LINEAGE_ML_FACET_SCHEMA`` below).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage.errors import LineageError
from lineage.openlineage_io import (  # noqa: F401 - the export's public writing API lives there
    WrittenLines,
    encode_spliced,
    placeholder,
    post,
    posting,
    to_json_line,
    write_jsonl,
)

if TYPE_CHECKING:
    from lineage.entities import AuditEntry
    from lineage.openlineage_lookup import FeatureSetFacts
    from lineage.store import Store

PRODUCER = "https://github.com/lineage/lineage"
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
RUN_EVENT_SCHEMA = f"{SPEC}#/$defs/RunEvent"
FACETS = "https://openlineage.io/spec/facets"
SCHEMA_URL = {
    "schema": f"{FACETS}/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "version": f"{FACETS}/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
    "columnLineage": f"{FACETS}/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
    "sourceCodeLocation": f"{FACETS}/1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet",
    "jobType": f"{FACETS}/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "errorMessage": f"{FACETS}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
}
ML_FACET = "lineage_ml"  # custom facets are prefixed with the producing project's name
SNAPSHOT_FACET = "lineage_snapshot"
CUSTOM_SCHEMA_BASE = f"{PRODUCER}/blob/main/lineage/openlineage.py"
ML_FACET_SCHEMA_URL = f"{CUSTOM_SCHEMA_BASE}#/$defs/LineageMLRunFacet"
SNAPSHOT_FACET_SCHEMA_URL = f"{CUSTOM_SCHEMA_BASE}#/$defs/LineageSnapshotDatasetFacet"
SNAPSHOT_JOB = "lineage.snapshot.add"
EXPORTED_ACTIONS = ("snapshot.add", "model.register", "run.failed")
PAGE_SIZE = 5_000  # audit events read per query
SHARED_DATASETS = 20_000  # serialised datasets kept by export_lines (bounded memory)
MODEL_PAYLOAD_KEYS = frozenset({"inputs", "code", "feature_set", "artifact_sha256", "seed", "run_id",
                                "model_version", "data_snapshot_id", "data_hash", "feature_set_version"})
_RUN_NAMESPACE = uuid.UUID("6f0f3c2e-4f7a-5b8e-9a51-1c0de1a9e000")
_RUN_NAMESPACE_BYTES = _RUN_NAMESPACE.bytes

LINEAGE_ML_FACET_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": CUSTOM_SCHEMA_BASE,
    "$defs": {
        "LineageMLRunFacet": {
            "allOf": [
                {"$ref": f"{SPEC}#/$defs/RunFacet"},
                {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "enum": ["materialization", "training"]},
                        "auditSeq": {"type": "integer"},
                        "auditHash": {"type": "string"},
                        "model": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"}, "version": {"type": "string"},
                                "ref": {"type": "string"}, "artifactSha256": {"type": "string"},
                                "runId": {"type": "string"}, "seed": {"type": ["integer", "null"]},
                            },
                            "required": ["name", "version", "ref"],
                        },
                        "featureSet": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"}, "version": {"type": "string"},
                                "ref": {"type": "string"}, "setHash": {"type": "string"},
                            },
                            "required": ["name", "version", "ref"],
                        },
                        "linkage": {"type": "object"},
                    },
                    "required": ["kind"],
                },
            ],
            "type": "object",
        },
        "LineageSnapshotDatasetFacet": {
            "allOf": [
                {"$ref": f"{SPEC}#/$defs/DatasetFacet"},
                {
                    "type": "object",
                    "properties": {
                        "ref": {"type": "string"}, "version": {"type": "string"}, "stage": {"type": "string"},
                        "sha256": {"type": "string"}, "rows": {"type": "integer"}, "format": {"type": "string"},
                        "fingerprint": {"type": "string"},
                    },
                    "required": ["ref", "version", "sha256"],
                },
            ],
            "type": "object",
        },
    },
}


def default_namespace(store: Store) -> str:
    """Where the store's datasets and jobs live: the same for everyone who shares the store.

    A store whose metadata is a SQLite file in its home is named after that home
    (``lineage://<store directory name>``, as exports have always been). A shared store
    (PostgreSQL, or a SQLite file elsewhere) is named after its database, because each
    member's ``LINEAGE_HOME`` differs: ``lineage://HOST[:PORT]/DBNAME``, without user or
    password, or after the SQLite file's folder.
    """
    database = store.db.sqlite_path() if store.db.is_sqlite else None
    home = Path(store.home).resolve()
    if store.db.is_sqlite and (database is None or database.resolve().is_relative_to(home)):
        return f"lineage://{_folder_name(home)}"
    if database is not None:
        return f"lineage://{_folder_name(database.resolve().parent)}"
    url = store.db.engine.url
    where = f"{url.host or 'localhost'}{f':{url.port}' if url.port else ''}"
    return f"lineage://{where}/{url.database or ''}".rstrip("/")


def _folder_name(folder: Path) -> str:
    """A store folder's name for a namespace; ``./.lineage`` is named after the project folder."""
    name = folder.name.lstrip(".") or "default"
    if name == "lineage" and folder.parent.name:
        name = folder.parent.name
    return name


def run_id(entry: AuditEntry) -> str:
    """Deterministic: the same audit event always exports under the same run id.

    ``str(uuid.uuid5(_RUN_NAMESPACE, entry.hash))``, computed without building UUID objects
    (an export makes one per event): sha1 of namespace and name, version 5, RFC 4122 variant.
    """
    raw = bytearray(hashlib.sha1(_RUN_NAMESPACE_BYTES + entry.hash.encode("utf-8")).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def export_events(store: Store, *, since: datetime | None = None, namespace: str | None = None) -> Iterator[dict[str, Any]]:
    """OpenLineage RunEvents (plain dicts) for every exported audit event, in chain order.

    Streams: the log is read a page at a time and the snapshots a page names are loaded
    in one batch, so a 100k-event store exports with a few hundred queries and flat memory.
    """
    builder = _Builder(store, namespace or default_namespace(store))
    for _, event in _events(builder, since):
        yield event


def export_lines(store: Store, *, since: datetime | None = None, namespace: str | None = None,
                 workers: int | None = None) -> Iterator[str]:
    """The same events as JSON lines (``to_json_line``), faster: each snapshot's dataset is serialised once.

    A long log is exported in contiguous slices on ``workers`` processes (default: the
    cores, at most 4) and streamed in order; see ``lineage/openlineage_slices.py``.
    """
    from lineage.openlineage_slices import sliced_lines

    return sliced_lines(store, since=since, namespace=namespace or default_namespace(store), workers=workers)


def export_items(store: Store, *, since: datetime | None = None, namespace: str | None = None,
                 workers: int | None = None) -> Iterator[str | WrittenLines]:
    """``export_lines`` for writing a file: the workers' slices come as files to append in bulk (``write_jsonl``)."""
    from lineage.openlineage_slices import sliced_items

    return sliced_items(store, since=since, namespace=namespace or default_namespace(store), workers=workers)


def slice_lines(store: Store, *, since: datetime | None, namespace: str, first: int = 1,
                last: int | None = None) -> Iterator[str]:
    """The JSON lines of the events with seq from ``first`` to ``last``, in one process."""
    builder = _Builder(store, namespace, share=True)
    for _, event in _events(builder, since, first, last):
        yield builder.line(event)


def _events(builder: _Builder, since: datetime | None, first: int = 1,
            last: int | None = None) -> Iterator[tuple[AuditEntry, dict[str, Any]]]:
    for page in builder.store.audit.pages(since=since, actions=EXPORTED_ACTIONS, size=PAGE_SIZE, first=first,
                                          last=last):
        builder.prefetch(page)
        for entry in page:
            event = builder.event(entry)
            if event is not None:
                yield entry, event


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _facet(key: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": SCHEMA_URL[key], **fields}


def _job_type(job_type: str) -> dict[str, Any]:
    return _facet("jobType", processingType="BATCH", integration="LINEAGE", jobType=job_type)


class _Builder:
    """Builds each RunEvent; with ``share`` (JSON lines only) a snapshot's dataset is built and serialised once."""

    def __init__(self, store: Store, namespace: str, *, share: bool = False) -> None:
        from lineage.openlineage_lookup import ExportLookup

        self.store = store
        self.namespace = namespace
        self.lookup = ExportLookup(store)
        self._share = share
        self._datasets: dict[str, tuple[dict[str, Any], str]] = {}  # ref -> (dataset, its JSON), share mode
        self._schemas: dict[int, tuple[list[Any], dict[str, Any], str]] = {}  # id(fields) -> (fields, facet, JSON)

    def prefetch(self, page: list[AuditEntry]) -> None:
        self.lookup.prefetch(page)
        if len(self._datasets) > SHARED_DATASETS:
            self._datasets.clear()
        if len(self._schemas) > SHARED_DATASETS:
            self._schemas.clear()

    def feature_set(self, ref: str) -> FeatureSetFacts | None:
        return self.lookup.feature_set(ref)

    def event(self, entry: AuditEntry) -> dict[str, Any] | None:
        if entry.action == "snapshot.add":
            return self._snapshot_event(entry)
        if entry.action == "model.register":
            return self._model_event(entry)
        return self._failed_event(entry)

    def _base(self, entry: AuditEntry, event_type: str, job: dict[str, Any], run_facets: dict[str, Any],
              inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "eventType": event_type,
            "eventTime": _time(entry.at),
            "run": {"runId": run_id(entry), "facets": run_facets},
            "job": job,
            "inputs": inputs,
            "outputs": outputs,
            "producer": PRODUCER,
            "schemaURL": RUN_EVENT_SCHEMA,
        }

    def _dataset(self, ref: str, sha256: str = "") -> dict[str, Any]:
        """The dataset of a snapshot ref: the same for every event once the snapshot is found."""
        shared = self._datasets.get(ref) if self._share else None
        if shared is not None:
            return shared[0]
        info = self.lookup.snapshot(ref)
        name = ref.partition("@")[0]
        facets: dict[str, Any] = {}
        if info is not None:
            facets["schema"] = self._schema_facet(info.schema)
            sha256 = info.sha256
        if sha256:
            facets["version"] = _facet("version", datasetVersion=sha256)
        if info is not None:
            facets[SNAPSHOT_FACET] = {
                "_producer": PRODUCER, "_schemaURL": SNAPSHOT_FACET_SCHEMA_URL, "ref": info.ref,
                "version": info.version, "stage": info.stage, "sha256": info.sha256, "rows": info.rows,
                "format": info.format, "fingerprint": info.fingerprint,
            }
        dataset = {"namespace": self.namespace, "name": name, "facets": facets}
        if self._share and info is not None:
            self._datasets[ref] = (dataset, self._dataset_text(dataset))
        return dataset

    def _schema_facet(self, fields: list[dict[str, str]]) -> dict[str, Any]:
        """The schema facet; in share mode built and serialised once per distinct schema (same list object)."""
        shared = self._schemas.get(id(fields)) if self._share else None
        if shared is not None and shared[0] is fields:
            return shared[1]
        facet = _facet("schema", fields=[{"name": column["name"], "type": column["type"], "ordinal_position": position}
                                         for position, column in enumerate(fields, start=1)])
        if self._share:
            self._schemas[id(fields)] = (fields, facet, to_json_line(facet))  # the list is kept: its id stays its
        return facet

    def _dataset_text(self, dataset: dict[str, Any]) -> str:
        """``to_json_line(dataset)``, with the schema facet's JSON spliced in when it is a shared one."""
        schema = dataset["facets"].get("schema")
        shared = self._schemas.get(id(schema["fields"])) if schema is not None else None
        if shared is None or shared[1] is not schema:
            return to_json_line(dataset)
        return encode_spliced({**dataset, "facets": {**dataset["facets"], "schema": placeholder(0)}}, [shared[2]])

    def line(self, event: dict[str, Any]) -> str:
        """``to_json_line(event)``, byte for byte, with each dataset's JSON spliced in (share mode)."""
        fragments: list[str] = []

        def spliced(datasets: list[dict[str, Any]]) -> list[str]:
            marks = []
            for dataset in datasets:
                marks.append(placeholder(len(fragments)))
                fragments.append(self._dataset_json(dataset))
            return marks

        return encode_spliced({**event, "inputs": spliced(event["inputs"]), "outputs": spliced(event["outputs"])},
                               fragments)

    def _dataset_json(self, dataset: dict[str, Any]) -> str:
        snapshot = dataset["facets"].get(SNAPSHOT_FACET)
        shared = self._datasets.get(snapshot["ref"]) if snapshot is not None else None
        return shared[1] if shared is not None and shared[0] is dataset else self._dataset_text(dataset)

    def _snapshot_event(self, entry: AuditEntry) -> dict[str, Any]:
        payload = entry.payload
        parents: list[str] = list(payload.get("parents") or [])
        transform = str(payload.get("transform") or "")
        materialized = [link for link in payload.get("links") or [] if link.get("relation") == "materialized"
                        and link.get("parent_kind") == "feature_set_version"]
        output = self._dataset(entry.subject, str(payload.get("sha256") or ""))
        inputs = [self._dataset(parent) for parent in parents]
        run_facets: dict[str, Any] = {}
        job_facets: dict[str, Any] = {}
        if materialized:
            feature_ref = str(materialized[0].get("parent") or transform)
            job_name = feature_ref
            job_facets["jobType"] = _job_type("MATERIALIZATION")
            run_facets[ML_FACET] = self._ml_facet("materialization", entry, feature_ref=feature_ref)
            location = self._feature_code_location(feature_ref)
            if location:
                job_facets["sourceCodeLocation"] = location
            lineage = self._column_lineage(output, inputs, feature_ref)
            if lineage:  # a new dict: the plain dataset may be shared by other events
                output = {**output, "facets": {**output["facets"], "columnLineage": lineage}}
        elif parents or transform:
            job_name = transform or SNAPSHOT_JOB
            job_facets["jobType"] = _job_type("DERIVATION")
        else:
            job_name = SNAPSHOT_JOB
            job_facets["jobType"] = _job_type("REGISTRATION")
            source = str(payload.get("source_uri") or "")
            if source.startswith("/"):
                inputs = [{"namespace": "file", "name": source, "facets": {}}]
        job = {"namespace": self.namespace, "name": job_name, "facets": job_facets}
        return self._base(entry, "COMPLETE", job, run_facets, inputs, [output])

    def _feature_code_location(self, feature_ref: str) -> dict[str, Any] | None:
        info = self.feature_set(feature_ref)
        return None if info is None else _code_location(info.git_commit, info.module_path)

    def _column_lineage(self, output: dict[str, Any], inputs: list[dict[str, Any]], feature_ref: str) -> dict | None:
        """Known only for the entity and timestamp columns a materialisation copies from its source (and sorts by)."""
        info = self.feature_set(feature_ref)
        if info is None:
            return None
        schema = info.schema
        carried = [c for c in (schema.get("entity"), schema.get("timestamp")) if c]
        out_fields = {f["name"] for f in output["facets"].get("schema", {}).get("fields", [])}
        fields: dict[str, Any] = {}
        for column in carried:
            sources = [
                {"namespace": item["namespace"], "name": item["name"], "field": column,
                 "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}
                for item in inputs
                if column in {f["name"] for f in item["facets"].get("schema", {}).get("fields", [])}
            ]
            if column in out_fields and sources:
                fields[column] = {"inputFields": sources}
        if not fields:
            return None
        # materialize sorts the rows by (entity, timestamp): a dataset-wide, indirect dependency
        ordering = [
            {"namespace": source["namespace"], "name": source["name"], "field": source["field"],
             "transformations": [{"type": "INDIRECT", "subtype": "SORT"}]}
            for column in fields.values() for source in column["inputFields"]
        ]
        return _facet("columnLineage", fields=fields, dataset=ordering)

    def _ml_facet(self, kind: str, entry: AuditEntry, *, feature_ref: str = "",
                  model: dict[str, Any] | None = None, linkage: dict[str, Any] | None = None) -> dict[str, Any]:
        facet: dict[str, Any] = {"_producer": PRODUCER, "_schemaURL": ML_FACET_SCHEMA_URL, "kind": kind,
                                 "auditSeq": entry.seq, "auditHash": entry.hash}
        if model is not None:
            facet["model"] = model
        if feature_ref:
            name, _, version = feature_ref.partition("@")
            feature: dict[str, Any] = {"name": name, "version": version, "ref": feature_ref}
            info = self.feature_set(feature_ref)
            if info is not None:
                feature["setHash"] = info.set_hash
            facet["featureSet"] = feature
        if linkage is not None:
            facet["linkage"] = linkage
        return facet

    def _model_event(self, entry: AuditEntry) -> dict[str, Any]:
        name, _, version = entry.subject.partition("@")
        inputs, code, feature_ref, linkage, artifact_sha, native_run, seed = self._model_record(entry)
        model = {"name": name, "version": version, "ref": entry.subject, "artifactSha256": artifact_sha,
                 "runId": native_run or "", "seed": seed,
                 "entrypoint": str(code.get("entrypoint") or "")}
        job_facets: dict[str, Any] = {"jobType": _job_type("TRAINING")}
        location = _code_location(str(code.get("git_commit") or ""), str(code.get("workdir") or ""))
        if location:
            job_facets["sourceCodeLocation"] = location
        output = {"namespace": self.namespace, "name": f"models/{name}", "facets": {}}
        if artifact_sha:
            output["facets"]["version"] = _facet("version", datasetVersion=artifact_sha)
        job = {"namespace": self.namespace, "name": f"{name}.train", "facets": job_facets}
        run_facets = {ML_FACET: self._ml_facet("training", entry, feature_ref=feature_ref, model=model,
                                               linkage=linkage)}
        datasets = [self._dataset(str(i["ref"]), str(i.get("sha256") or "")) for i in inputs]
        return self._base(entry, "COMPLETE", job, run_facets, datasets, [output])

    def _model_record(self, entry: AuditEntry) -> tuple[list[dict[str, Any]], dict[str, Any], str, dict[str, Any],
                                                        str, str, Any]:
        """Inputs, code, feature-set ref, linkage, artifact sha256, run id and seed of a registration.

        Model versions are immutable, so the registration event holds the record; the store
        is read only for an event that lacks a field (written by an older release).
        """
        payload = entry.payload
        if not payload.keys() >= MODEL_PAYLOAD_KEYS:
            try:
                info = self.store.models.get(entry.subject)
            except LineageError:
                pass
            else:
                return ([i.to_json() for i in info.inputs], info.code, info.feature_set, info.linkage_record(),
                        str(info.artifact.get("sha256") or ""), info.run_id, info.seed)
        linkage = {k: payload.get(k) for k in ("model_version", "data_snapshot_id", "data_hash", "feature_set_version")}
        return (list(payload.get("inputs") or []), dict(payload.get("code") or {}), str(payload.get("feature_set") or ""),
                linkage, str(payload.get("artifact_sha256") or ""), str(payload.get("run_id") or ""), payload.get("seed"))

    def _failed_event(self, entry: AuditEntry) -> dict[str, Any]:
        payload = entry.payload
        name, _, version = entry.subject.partition("@")
        recorded = payload.get("inputs") or {}  # {ref: role}
        refs = [str(ref) for ref in (recorded if isinstance(recorded, dict) else [])]
        model = {"name": name, "version": version, "ref": entry.subject,
                 "runId": str(payload.get("run_id") or ""), "seed": payload.get("seed")}
        run_facets = {
            "errorMessage": _facet("errorMessage", message=str(payload.get("error") or "run failed"),
                                   programmingLanguage="python"),
            ML_FACET: self._ml_facet("training", entry, model=model),
        }
        job = {"namespace": self.namespace, "name": f"{name}.train", "facets": {"jobType": _job_type("TRAINING")}}
        return self._base(entry, "FAIL", job, run_facets, [self._dataset(ref) for ref in refs if ref], [])


def _code_location(commit: str, location: str) -> dict[str, Any] | None:
    """``sourceCodeLocation`` for a local git checkout: file URL of the workdir, commit as version."""
    if not location:
        return None
    path = Path(location)
    if not path.is_absolute():
        return None
    fields: dict[str, Any] = {"type": "git", "url": path.as_uri(), "path": str(path)}
    if commit:
        fields["version"] = commit
    return _facet("sourceCodeLocation", **fields)
