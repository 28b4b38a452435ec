"""``store.models``: register model versions linked to their data and features; aliases.

A model version records its artifact (stored, never loaded), the snapshots it was
trained and evaluated on (lineage edges with roles), the feature-set version, seed,
params, metrics, code and environment. Everything is immutable; aliases move by
appending events, so the holder of an alias at any past time can be answered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from lineage import edges
from lineage.audit import append_event, canonical_json
from lineage.byte_order import byte_order
from lineage.entities import ROLES, AliasMove, ModelInput, ModelSummary, ModelVersionInfo
from lineage.errors import ImmutableVersionError, InvalidInputError, NotFoundError
from lineage.features.semver import SemVer
from lineage.models.aliases import current_holders, holders_of, holding
from lineage.models.reregister import RegisteredFields, refuse_changes
from lineage.naming import validate_name
from lineage.progress import NO_PROGRESS, Progress
from lineage.stored_text import NAME_LIMIT, check_text, is_storable
from lineage.tables import (
    AliasEvent,
    Dataset,
    Edge,
    FeatureSetRow,
    FeatureSetVersion,
    ModelArtifactFile,
    ModelRow,
    ModelVersion,
    Snapshot,
)

if TYPE_CHECKING:
    from lineage.store import Store

MODEL_VERSION = "model_version"
RUN_ID_LIMIT = 64
"""``model_version.run_id``; ``lineage run`` writes 32 hex characters."""
GIT_COMMIT_LIMIT = 64
"""``model_version.git_commit``: a sha256 object name is 64 hex characters."""
USES_FEATURES = "uses_features"


def parse_input(text: str, stage: str | None = None) -> tuple[str, str | None]:
    """``REF[:ROLE]`` → (ref, role or None); a trailing ``:word`` is a role only if it is one."""
    ref, sep, role = text.rpartition(":")
    if sep and role in ROLES:
        return ref, role
    if sep and role and role not in ROLES and "@" not in role:
        raise InvalidInputError(f"unknown role '{role}' in '{text}': use one of {', '.join(ROLES)}")
    return text, None


class ModelService:
    """The verbs register, get, find, list, promote, rollback and aliases."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- register -------------------------------------------------------------------------
    def register(
        self,
        ref: str,
        *,
        artifact: str | Path,
        inputs: Iterable[str] | Mapping[str, str] = (),
        feature_set: str | None = None,
        seed: int | None = None,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        code: Mapping[str, Any] | None = None,
        environment: Mapping[str, Any] | None = None,
        run_id: str = "",
        note: str = "",
        progress: Progress = NO_PROGRESS,
    ) -> ModelVersionInfo:
        """Register ``model@semver``; inputs are ``REF[:ROLE]`` strings or a {ref: role} mapping.

        A taken version is returned as it is when this registration records the same
        artifact and metadata, and refused naming the first difference otherwise (see
        reregister.py). Everything is validated before the first byte is written.
        """
        from lineage import environment as env
        from lineage.artifacts import store_artifact
        from lineage.models.runs import check_seed
        from lineage.user_paths import given_path

        store = self._store
        store.require_writable()
        name, version = _split_model_ref(ref)
        validate_name(name, what="model name", new=True)  # a new name must be NFC (lookups need not be)
        if inputs is None or isinstance(inputs, str):  # one "REF[:ROLE]" is one input, not its characters
            inputs = [] if inputs is None else [inputs]
        pairs = list(inputs.items()) if isinstance(inputs, Mapping) else [parse_input(_input_text(i)) for i in inputs]
        params_json, metrics_json = _json_object(params, "params"), _json_object(metrics, "metrics")
        check_text(note, what="note")
        check_text(run_id, what="run id", limit=RUN_ID_LIMIT)
        if seed is not None:
            seed = check_seed(seed)
        artifact_path = given_path(artifact, what="artifact", fix="give the trained model's file or folder")
        check_text(str(artifact_path), what="artifact path")
        with store.db.session() as session:
            resolved = self._resolve_inputs(session, pairs)
            fs_row, fs_ref = self._resolve_feature_set(session, feature_set) if feature_set else (None, "")
        if not artifact_path.exists():
            raise InvalidInputError(f"artifact {artifact_path} does not exist: give the trained model's file or folder")
        code = dict(code or {})
        if not code:
            from lineage.gitinfo import git_state

            state = git_state(Path.cwd())
            code = {"git_commit": state.commit, "git_dirty": state.dirty, "entrypoint": "", "workdir": str(Path.cwd())}
        environment_doc = dict(environment) if environment is not None else env.capture()
        _check_code(code)
        check_text(canonical_json(environment_doc), what="environment")
        given = RegisteredFields.given(seed=seed, params=params_json, metrics=metrics_json,
                                       inputs=[f"{label}:{role}" for _, role, label in resolved], feature_set=fs_ref,
                                       code=code)

        with store.db.session() as session:  # a taken version: compare hashes and metadata, store nothing
            existing_row = self._version_row(session, name, version)
        if existing_row is not None:
            from lineage.artifacts import hash_artifact

            return self._same_or_refuse(existing_row, name, version, hash_artifact(artifact_path), given)
        stored = store_artifact(store.objects, artifact_path, progress)

        with store.db.session(write=True) as session:
            existing_row = self._version_row(session, name, version)  # re-check under the write lock
            if existing_row is not None:
                return self._same_or_refuse(existing_row, name, version, stored.sha256, given)
            from lineage.purge import require_still_stored

            require_still_stored(store.objects, session, stored.reused)  # gc and purge delete under this lock
            actor = store.actor
            model_row = session.exec(select(ModelRow).where(ModelRow.name == name)).first()
            if model_row is None:
                model_row = ModelRow(name=name, created_by=actor)
                session.add(model_row)
                session.flush()
            row = ModelVersion(
                model_id=model_row.id, version=version, artifact_sha256=stored.sha256, artifact_size=stored.size,
                artifact_kind=stored.kind, artifact_name=stored.name,
                feature_set_version_id=fs_row.id if fs_row else None, seed=seed,
                params=canonical_json(params_json), metrics=canonical_json(metrics_json),
                git_commit=str(code.get("git_commit") or ""), git_dirty=code.get("git_dirty"),
                entrypoint=str(code.get("entrypoint") or ""), workdir=str(code.get("workdir") or ""),
                environment=canonical_json(environment_doc), run_id=run_id, note=note, created_by=actor,
            )
            session.add(row)
            session.flush()
            for member in stored.files:
                session.add(ModelArtifactFile(model_version_id=row.id, path=member["path"],
                                              size_bytes=member["size_bytes"], sha256=member["sha256"]))
            for snapshot_row, role, _ in resolved:
                session.add(Edge(parent_kind=edges.SNAPSHOT, parent_id=snapshot_row.id, child_kind=MODEL_VERSION,
                                 child_id=row.id, relation=role))
            if fs_row is not None:
                session.add(Edge(parent_kind=edges.FEATURE_SET_VERSION, parent_id=fs_row.id, child_kind=MODEL_VERSION,
                                 child_id=row.id, relation=USES_FEATURES))
            session.flush()
            info = self._to_infos(session, [row], created=True)[0]
            append_event(session, actor=actor, action="model.register", subject=info.ref, payload={
                **info.linkage_record(), "artifact_sha256": stored.sha256, "artifact_kind": stored.kind,
                "inputs": [i.to_json() for i in info.inputs], "feature_set": info.feature_set, "seed": seed,
                "params": params_json, "metrics": metrics_json, "code": info.code, "run_id": run_id,
            })
            return info

    def _same_or_refuse(self, row: ModelVersion, name: str, version: str, sha256: str,
                        given: RegisteredFields) -> ModelVersionInfo:
        """The existing version when this registration records exactly what it holds; else refused."""
        if row.artifact_sha256 != sha256:
            raise ImmutableVersionError(
                f"{name}@{version} already holds artifact sha256 {row.artifact_sha256}; this artifact is sha256 "
                f"{sha256}: register it under a new version"
            )
        with self._store.db.session() as session:
            info = self._to_infos(session, [row])[0]
        refuse_changes(info.ref, RegisteredFields.of(info), given)
        return info

    def _resolve_inputs(self, session: Session,
                        pairs: list[tuple[str, str | None]]) -> list[tuple[Snapshot, str, str]]:
        """(snapshot row, role, dataset@version) per input, each (snapshot, role) once, in first-named order.

        ``customers_clean``, ``customers_clean@v1.0`` and a sha256 prefix can name the same
        snapshot: one edge per role, as snapshot parents are deduplicated (commit 0970536).
        The same snapshot under two roles (train and features) stays two inputs.
        """
        resolved: dict[tuple[int, str], tuple[Snapshot, str, str]] = {}
        for ref, role in pairs:
            if role is not None and role not in ROLES:
                raise InvalidInputError(f"unknown role '{role}' for {ref}: use one of {', '.join(ROLES)}")
            row, _ = self._store.snapshots._resolve(session, ref)
            role = role or ("features" if row.stage == "features" else "train")
            assert row.id is not None
            if (row.id, role) not in resolved:
                resolved[(row.id, role)] = (row, role, self._store.snapshots._ref_of(session, row))
        return list(resolved.values())

    def _resolve_feature_set(self, session: Session, ref: str) -> tuple[FeatureSetVersion, str]:
        """The feature-set version's row and its ``name@version``."""
        info = self._store.features.get(ref)  # NotFoundError names what exists
        row = session.exec(
            select(FeatureSetVersion).join(FeatureSetRow)
            .where(FeatureSetRow.name == info.feature_set, FeatureSetVersion.version == info.version)
        ).one()
        return row, info.ref

    # -- lookups --------------------------------------------------------------------------
    def get(self, ref: str) -> ModelVersionInfo:
        """``model@version``, ``model@alias`` or ``model`` (its highest version)."""
        if not isinstance(ref, str):
            raise InvalidInputError(f"model reference must be text such as 'churn@1.2.0', not {type(ref).__name__} {ref!r}")
        name, _, wanted = ref.partition("@")
        validate_name(name, what="model name")
        with self._store.db.session() as session:
            row = self._find_row(session, name, wanted)
            return self._to_infos(session, [row])[0]

    def find(self, ref: str) -> ModelVersionInfo | None:
        try:
            return self.get(ref)
        except NotFoundError:
            return None

    def list(self, name: str | None = None) -> list[ModelVersionInfo]:
        """Every version, by model name then semver."""
        with self._store.db.session() as session:
            query = select(ModelVersion).join(ModelRow)
            if name is not None:
                query = query.where(ModelRow.name == name)
            rows = list(session.exec(query))
            infos = self._to_infos(session, rows)
        return sorted(infos, key=lambda i: (i.model, SemVer.parse(i.version)))

    def summaries(self) -> list[ModelSummary]:
        """Every version as a registry row (metrics, feature set, aliases), in ``list()`` order: two queries."""
        with self._store.db.session() as session:
            rows = list(session.exec(
                select(ModelVersion.id, ModelRow.name, ModelVersion.version, FeatureSetRow.name,
                       FeatureSetVersion.version, ModelVersion.seed, ModelVersion.metrics, ModelVersion.artifact_sha256,
                       ModelVersion.created_at, ModelVersion.created_by)
                .join(ModelRow, col(ModelRow.id) == ModelVersion.model_id)
                .outerjoin(FeatureSetVersion, col(FeatureSetVersion.id) == ModelVersion.feature_set_version_id)
                .outerjoin(FeatureSetRow, col(FeatureSetRow.id) == FeatureSetVersion.feature_set_id)
            ))
            holders = current_holders(session)
        summaries = [
            ModelSummary(model=name, version=version, feature_set=f"{fs_name}@{fs_version}" if fs_name else "",
                         aliases=holders.get(row_id, []), seed=seed, metrics=json.loads(metrics),
                         artifact_sha256=artifact, created_at=created_at.replace(tzinfo=UTC), created_by=by, id=row_id)
            for row_id, name, version, fs_name, fs_version, seed, metrics, artifact, created_at, by in rows
        ]
        return sorted(summaries, key=lambda s: (s.model, SemVer.parse(s.version)))

    def refs(self) -> list[str]:
        """Every version's ``model@version`` in ``list()`` order, from one light query (for pickers)."""
        with self._store.db.session() as session:
            pairs = list(session.exec(select(ModelRow.name, ModelVersion.version).join(ModelRow)))
        return [f"{name}@{version}" for name, version in sorted(pairs, key=lambda p: (p[0], SemVer.parse(p[1])))]

    def count(self) -> int:
        """How many model versions exist (one SQL count, for overviews)."""
        from sqlalchemy import func

        with self._store.db.session() as session:
            return int(session.exec(select(func.count()).select_from(ModelVersion)).one())

    def _find_row(self, session: Session, name: str, wanted: str) -> ModelVersion:
        rows = list(session.exec(select(ModelVersion).join(ModelRow).where(ModelRow.name == name)))
        if not rows:
            known = ", ".join(session.exec(select(ModelRow.name).order_by(byte_order(ModelRow.name)))) or "none registered yet"
            raise NotFoundError(f"no model '{name}' (known: {known}): register it with `lineage model register`")
        if not wanted:
            return max(rows, key=lambda r: SemVer.parse(r.version))
        for row in rows:
            if row.version == wanted:
                return row
        holder = self._alias_holder(session, rows[0].model_id, wanted, None)
        if holder is not None:
            return next(r for r in rows if r.id == holder.model_version_id)
        versions = ", ".join(sorted((r.version for r in rows), key=SemVer.parse))
        raise NotFoundError(f"{name} has no version or alias '{wanted}' (versions: {versions})")

    @staticmethod
    def _version_row(session: Session, name: str, version: str) -> ModelVersion | None:
        if not is_storable(version):  # no stored version holds it; PostgreSQL would refuse the query
            return None
        return session.exec(
            select(ModelVersion).join(ModelRow).where(ModelRow.name == name, ModelVersion.version == version)
        ).first()

    # -- aliases --------------------------------------------------------------------------
    def promote(self, ref: str, *, alias: str, reason: str) -> AliasMove:
        """Point ``alias`` at ``model@version`` (audited; a reason is required)."""
        return self._move(ref, alias=alias, reason=reason, action="promote")

    def rollback(self, model: str, *, alias: str, reason: str, to: str | None = None) -> dict[str, Any]:
        """Move ``alias`` back to the version that held it before the current one (or ``to``).

        Returns the move plus what serving must change: the feature-set switch when the
        target version was trained on another feature-set version. The current holder and
        the target are read in the transaction that moves the alias, under the write lock:
        read before it, a promote landing in between would make this roll back to a stale
        target and report the wrong ``from_version``.
        """
        self._store.require_writable()
        validate_name(model, what="model name")
        validate_name(alias, what="alias")
        _check_reason(reason, "rollback")
        if to is not None and not to:
            raise InvalidInputError(f"give the version to rollback: {model}@VERSION")
        with self._store.db.session(write=True) as session:
            current_row, target_version = self._rollback_target(session, model, alias, to)
            move = self._move_in(session, model, target_version, alias=alias, reason=reason, action="rollback")
            target_row = self._version_row(session, model, target_version)
            assert target_row is not None  # _move_in found it
            current_info, target = self._to_infos(session, [current_row, target_row])
        switch = None
        if target.feature_set != current_info.feature_set:
            switch = {"from": current_info.feature_set or None, "to": target.feature_set or None}
        return {"move": move, "from_version": current_info.version, "to_version": target.version,
                "feature_set_switch": switch}

    def _rollback_target(self, session: Session, model: str, alias: str,
                         to: str | None) -> tuple[ModelVersion, str]:
        """(the row holding ``alias`` now, the version to move it to), read in the caller's transaction."""
        model_row = session.exec(select(ModelRow).where(ModelRow.name == model)).first()
        if model_row is None:
            raise NotFoundError(f"no model '{model}': register it with `lineage model register`")
        history = self._history_rows(session, model_row.id, alias, None)
        if not history:
            raise InvalidInputError(f"alias '{alias}' of {model} has never been set: promote a version first")
        current = history[-1].model_version_id
        current_row = session.get(ModelVersion, current)
        assert current_row is not None
        if to is None:
            earlier = next((e for e in reversed(history) if e.model_version_id != current), None)
            if earlier is None:
                raise InvalidInputError(
                    f"alias '{alias}' of {model} has had no other holder to roll back to: use --to VERSION"
                )
            to = session.exec(select(ModelVersion.version).where(ModelVersion.id == earlier.model_version_id)).one()
        if to == current_row.version:
            raise InvalidInputError(f"{model}@{to} already holds '{alias}': nothing to roll back")
        return current_row, to

    def _move(self, ref: str, *, alias: str, reason: str, action: str) -> AliasMove:
        store = self._store
        store.require_writable()
        validate_name(alias, what="alias", new=action == "promote")
        name, _, version = ref.partition("@")
        if action == "promote":  # a rollback only moves an alias that already exists
            _not_a_version(name, alias)
        _check_reason(reason, action)
        if not version:
            raise InvalidInputError(f"give the version to {action}: {name}@VERSION")
        with store.db.session(write=True) as session:
            return self._move_in(session, name, version, alias=alias, reason=reason, action=action)

    def _move_in(self, session: Session, name: str, version: str, *, alias: str, reason: str,
                 action: str) -> AliasMove:
        """Append the move in the caller's write transaction; ``previous`` is the holder read under its lock.

        Why the holder is read here: the CLI and the dashboard say "now 1.0.3 (was 1.0.5)",
        and a holder read in an earlier transaction may already have been replaced.
        """
        store = self._store
        row = self._version_row(session, name, version)
        if row is None:
            self._find_row(session, name, version)  # raises NotFoundError naming what exists
            raise NotFoundError(f"{name} has no version {version}")
        if action == "promote" and self._version_row(session, name, alias) is not None:
            raise InvalidInputError(f"alias '{alias}' is also a version of {name}, and {name}@{alias} always "
                                    "names that version: choose another alias name, e.g. production")
        holder = self._alias_holder(session, row.model_id, alias, None)
        previous = None if holder is None else session.exec(
            select(ModelVersion.version).where(ModelVersion.id == holder.model_version_id)).one()
        now = datetime.now(UTC).replace(tzinfo=None)
        event = AliasEvent(model_id=row.model_id, alias=alias, model_version_id=row.id, action=action,
                           reason=reason.strip(), at=now, actor=store.actor)
        session.add(event)
        session.flush()
        append_event(session, actor=store.actor, action=f"model.{action}", subject=f"{name}@{alias}",
                     payload={"model": name, "alias": alias, "version": version, "reason": reason.strip()})
        return AliasMove(name, alias, version, action, reason.strip(), now.replace(tzinfo=UTC), store.actor,
                         previous=previous)

    def aliases(self, model: str, *, as_of: datetime | None = None) -> dict[str, Any]:
        """Who holds each alias (now or at ``as_of``) and the full history up to then."""
        validate_name(model, what="model name")
        cutoff = _naive(as_of)
        with self._store.db.session() as session:
            model_row = session.exec(select(ModelRow).where(ModelRow.name == model)).first()
            if model_row is None:
                raise NotFoundError(f"no model '{model}': register it with `lineage model register`")
            query = select(AliasEvent, ModelVersion.version).join(ModelVersion).where(AliasEvent.model_id == model_row.id)
            if cutoff is not None:
                query = query.where(AliasEvent.at <= cutoff)
            rows = list(session.exec(query.order_by(col(AliasEvent.id))))
        history = [AliasMove(model, e.alias, v, e.action, e.reason, e.at.replace(tzinfo=UTC), e.actor) for e, v in rows]
        return {"model": model, "as_of": as_of, "current": holding(history), "history": history}

    def alias_holders(self, session: Session | None = None) -> dict[int, list[str]]:
        """model_version id → aliases it holds now (for impact and the registry); one query."""
        if session is not None:
            return current_holders(session)
        with self._store.db.session() as own:
            return current_holders(own)

    def holders(self, alias: str) -> list[dict[str, Any]]:
        """Every model whose ``alias`` is set, by name: version, since, by, reason, feature_set (one query)."""
        validate_name(alias, what="alias")
        with self._store.db.session() as session:
            return holders_of(session, alias)

    def _history_rows(self, session: Session, model_id: int, alias: str, cutoff: datetime | None) -> list[AliasEvent]:
        if not is_storable(alias):  # no stored alias holds it; PostgreSQL would refuse the query
            return []
        query = select(AliasEvent).where(AliasEvent.model_id == model_id, AliasEvent.alias == alias)
        if cutoff is not None:
            query = query.where(AliasEvent.at <= cutoff)
        return list(session.exec(query.order_by(col(AliasEvent.id))))

    def _alias_holder(self, session: Session, model_id: int, alias: str, cutoff: datetime | None) -> AliasEvent | None:
        history = self._history_rows(session, model_id, alias, cutoff)
        return history[-1] if history else None

    # -- rows → entities ------------------------------------------------------------------
    def _to_infos(self, session: Session, rows: list[ModelVersion], *, created: bool = False) -> list[ModelVersionInfo]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        names = {model_id: name for model_id, name in session.exec(
            select(ModelRow.id, ModelRow.name).where(col(ModelRow.id).in_({r.model_id for r in rows})))}
        inputs: dict[int, list[ModelInput]] = {}
        for child_id, role, dataset, version, sha256, stage in session.exec(
            select(Edge.child_id, Edge.relation, Dataset.name, Snapshot.version, Snapshot.sha256, Snapshot.stage)
            .join(Snapshot, Snapshot.id == Edge.parent_id).join(Dataset, Dataset.id == Snapshot.dataset_id)
            .where(Edge.child_kind == MODEL_VERSION, Edge.parent_kind == edges.SNAPSHOT, col(Edge.child_id).in_(ids))
            .order_by(col(Edge.id))
        ):
            inputs.setdefault(child_id, []).append(ModelInput(f"{dataset}@{version}", role, sha256, stage))
        fs_ids = {r.feature_set_version_id for r in rows if r.feature_set_version_id}
        fs_refs = {
            fid: f"{fname}@{fversion}" for fid, fname, fversion in session.exec(
                select(FeatureSetVersion.id, FeatureSetRow.name, FeatureSetVersion.version)
                .join(FeatureSetRow).where(col(FeatureSetVersion.id).in_(fs_ids))
            )
        } if fs_ids else {}
        files: dict[int, list[dict[str, Any]]] = {}
        for member in session.exec(select(ModelArtifactFile).where(col(ModelArtifactFile.model_version_id).in_(ids))
                                   .order_by(byte_order(ModelArtifactFile.path))):
            files.setdefault(member.model_version_id, []).append(
                {"path": member.path, "size_bytes": member.size_bytes, "sha256": member.sha256})
        holders = current_holders(session, {r.model_id for r in rows})
        return [
            ModelVersionInfo(
                model=names[r.model_id], version=r.version,
                artifact={"sha256": r.artifact_sha256, "hash_algorithm": "sha256", "size_bytes": r.artifact_size,
                          "kind": r.artifact_kind, "name": r.artifact_name, "files": files.get(r.id, [])},
                inputs=inputs.get(r.id, []), feature_set=fs_refs.get(r.feature_set_version_id or -1, ""),
                seed=r.seed, params=json.loads(r.params), metrics=json.loads(r.metrics),
                code={"git_commit": r.git_commit, "git_dirty": r.git_dirty, "entrypoint": r.entrypoint,
                      "workdir": r.workdir},
                environment=json.loads(r.environment), run_id=r.run_id, note=r.note,
                created_at=r.created_at.replace(tzinfo=UTC), created_by=r.created_by,
                aliases=holders.get(r.id, []), created=created,
            )
            for r in rows
        ]

    def diff(self, a: str, b: str) -> Any:
        """Why model version ``b`` differs from ``a`` (see lineage_diff.py)."""
        from lineage.models.lineage_diff import diff_models

        return diff_models(self._store, a, b)

    def reproduce(self, ref: str, *, rerun: bool = False) -> Any:
        """Check (and with ``rerun`` re-run) a model version's recorded training (see reproduce.py)."""
        from lineage.models.reproduce import reproduce

        return reproduce(self._store, ref, rerun=rerun)

    def staleness(self, summaries: list[ModelSummary] | None = None) -> list[dict[str, Any]]:
        """Warnings for models whose feature code or training sources changed (see staleness.py).

        ``summaries`` (from ``summaries()``) saves reading them again when the caller has them.
        """
        from lineage.models.staleness import stale_models

        return stale_models(self._store, summaries)

    def version_id(self, ref: str) -> int:
        name, _, wanted = ref.partition("@")
        with self._store.db.session() as session:
            row = self._find_row(session, name, wanted)
            assert row.id is not None
            return row.id


def _split_model_ref(ref: str) -> tuple[str, str]:
    if not isinstance(ref, str):
        raise InvalidInputError(f"model reference must be text such as 'churn@1.2.0', not {type(ref).__name__} {ref!r}")
    name, sep, version = ref.partition("@")
    if not sep or not version:
        raise InvalidInputError(f"model '{ref}' has no version: write MODEL@MAJOR.MINOR.PATCH, e.g. churn@1.2.0")
    validate_name(name, what="model name")
    SemVer.parse(version, what=f"model version of {name}")
    check_text(version, what=f"model version of {name}", limit=NAME_LIMIT, fix="use a shorter prerelease or build part")
    return name, version


def _check_code(code: Mapping[str, Any]) -> None:
    """Refuse code fields no backend can store (``git_commit`` is ``VARCHAR(64)``), before the artifact is stored."""
    check_text(str(code.get("git_commit") or ""), what="git commit", limit=GIT_COMMIT_LIMIT)
    check_text(str(code.get("entrypoint") or ""), what="entrypoint")
    check_text(str(code.get("workdir") or ""), what="workdir")


def _check_reason(reason: str, action: str) -> None:
    """A move needs a reason the audit log can store (``alias_event.reason``)."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInputError(f"{action} needs a reason: pass --reason \"why this version\"")
    check_text(reason, what="reason")


def _not_a_version(model: str, alias: str) -> None:
    """Refuse an alias ``MODEL@ALIAS`` could never reach: refs resolve a version before an alias."""
    from lineage.errors import SemverError

    try:
        SemVer.parse(alias)
    except SemverError:
        return
    raise InvalidInputError(f"alias '{alias}' looks like a version, and {model}@{alias} would always name version "
                            f"{alias}, never the alias: choose a name that is not MAJOR.MINOR.PATCH, e.g. production")


def _input_text(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"inputs must be refs such as 'customers_clean@v1.0:train', not "
                                f"{type(value).__name__} {value!r}")
    return value


def _json_object(value: Mapping[str, Any] | None, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{what} must be a JSON object such as {{\"max_depth\": 4}}")
    for key in value:
        if not isinstance(key, str):  # json.dumps would turn 1 into "1": stored other than given
            raise InvalidInputError(f"{what} key {key!r} is not a string: name every {what} entry with a string")
    try:
        result = json.loads(json.dumps(dict(value), allow_nan=False, default=_plain))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{what} cannot be stored as JSON ({exc}): use numbers, strings, lists and objects") from None
    check_text(canonical_json(result), what=what)  # a key or value that is not UTF-8 cannot be stored
    return result


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _naive(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        raise InvalidInputError(f"as_of must be a datetime (naive means UTC), not {type(moment).__name__} {moment!r}: "
                                "e.g. datetime.fromisoformat('2026-03-03T12:00:00+00:00')")
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
