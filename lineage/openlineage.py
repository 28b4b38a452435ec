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

import contextlib
import json
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage.errors import LineageError, NotFoundError

if TYPE_CHECKING:
    from lineage.entities import AuditEntry, SnapshotInfo
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
_RUN_NAMESPACE = uuid.UUID("6f0f3c2e-4f7a-5b8e-9a51-1c0de1a9e000")

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
    """``lineage://<store directory name>``: where the store's datasets and jobs live."""
    home = Path(store.home).resolve()
    name = home.name.lstrip(".") or "default"
    if name == "lineage" and home.parent.name:  # ./.lineage: name it after the project folder
        name = home.parent.name
    return f"lineage://{name}"


def run_id(entry: AuditEntry) -> str:
    """Deterministic: the same audit event always exports under the same run id."""
    return str(uuid.uuid5(_RUN_NAMESPACE, entry.hash))


def export_events(store: Store, *, since: datetime | None = None, namespace: str | None = None) -> Iterator[dict[str, Any]]:
    """OpenLineage RunEvents (plain dicts) for every exported audit event, in chain order."""
    builder = _Builder(store, namespace or default_namespace(store))
    for entry in store.audit.log(since=since):
        if entry.action in EXPORTED_ACTIONS:
            event = builder.event(entry)
            if event is not None:
                yield event


def write_jsonl(events: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write one event per line (UTF-8), atomically; return how many."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for event in events:
            handle.write(to_json_line(event) + "\n")
            count += 1
    tmp.replace(target)
    return count


def to_json_line(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def post(events: Iterable[dict[str, Any]], url: str, *, api_key: str | None = None, timeout: float = 30.0) -> int:
    """POST each event to an OpenLineage HTTP endpoint (e.g. ``http://marquez:5000/api/v1/lineage``)."""
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    count = 0
    for event in events:
        request = urllib.request.Request(url, data=to_json_line(event).encode("utf-8"), headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - user-given URL
                response.read()
        except OSError as exc:  # URLError and HTTPError are OSErrors
            raise LineageError(f"could not POST OpenLineage event {count + 1} to {url}: {exc}") from exc
        count += 1
    return count


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _facet(key: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": SCHEMA_URL[key], **fields}


def _job_type(job_type: str) -> dict[str, Any]:
    return _facet("jobType", processingType="BATCH", integration="LINEAGE", jobType=job_type)


class _Builder:
    def __init__(self, store: Store, namespace: str) -> None:
        self.store = store
        self.namespace = namespace
        self._snapshots: dict[str, SnapshotInfo | None] = {}

    def snapshot(self, ref: str) -> SnapshotInfo | None:
        if ref not in self._snapshots:
            try:
                self._snapshots[ref] = self.store.snapshots.get(ref)
            except NotFoundError:
                self._snapshots[ref] = None
        return self._snapshots[ref]

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
        info = self.snapshot(ref)
        name = ref.partition("@")[0]
        facets: dict[str, Any] = {}
        if info is not None:
            facets["schema"] = _facet("schema", fields=[
                {"name": column["name"], "type": column["type"], "ordinal_position": position}
                for position, column in enumerate(info.schema, start=1)])
            sha256 = info.sha256
        if sha256:
            facets["version"] = _facet("version", datasetVersion=sha256)
        if info is not None:
            facets[SNAPSHOT_FACET] = {
                "_producer": PRODUCER, "_schemaURL": SNAPSHOT_FACET_SCHEMA_URL, "ref": info.ref,
                "version": info.version, "stage": info.stage, "sha256": info.sha256, "rows": info.rows,
                "format": info.format, "fingerprint": info.fingerprint,
            }
        return {"namespace": self.namespace, "name": name, "facets": facets}

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
            if lineage:
                output["facets"]["columnLineage"] = lineage
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
        try:
            info = self.store.features.get(feature_ref)
        except LineageError:
            return None
        return _code_location(info.git_commit, info.module_path)

    def _column_lineage(self, output: dict[str, Any], inputs: list[dict[str, Any]], feature_ref: str) -> dict | None:
        """Known only for the entity and timestamp columns a materialisation copies from its source (and sorts by)."""
        try:
            schema = self.store.features.get(feature_ref).schema
        except LineageError:
            return None
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
            with contextlib.suppress(LineageError):
                feature["setHash"] = self.store.features.get(feature_ref).set_hash
            facet["featureSet"] = feature
        if linkage is not None:
            facet["linkage"] = linkage
        return facet

    def _model_event(self, entry: AuditEntry) -> dict[str, Any]:
        payload = entry.payload
        name, _, version = entry.subject.partition("@")
        try:
            info = self.store.models.get(entry.subject)
            inputs = [i.to_json() for i in info.inputs]
            code = info.code
            feature_ref = info.feature_set
            linkage = info.linkage_record()
            artifact_sha = str(info.artifact.get("sha256") or "")
            native_run, seed = info.run_id, info.seed
        except LineageError:
            inputs = list(payload.get("inputs") or [])
            code = dict(payload.get("code") or {})
            feature_ref = str(payload.get("feature_set") or "")
            linkage = {k: payload.get(k) for k in ("model_version", "data_snapshot_id", "data_hash",
                                                   "feature_set_version")}
            artifact_sha = str(payload.get("artifact_sha256") or "")
            native_run, seed = str(payload.get("run_id") or ""), payload.get("seed")
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
