"""``store.features``: register, get, list, diff and release feature-set versions.

A version is immutable once registered (invariant 2): its schema, each feature's
source and normalised code hash, the set hash, and the git state of the defining
module. Registering a new version diffs it against the previous one and refuses a
semver bump smaller than the diff requires, unless ``allow_breaking`` gives a reason,
which is audited.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from lineage.audit import append_event, canonical_json
from lineage.byte_order import byte_order
from lineage.entities import FeatureInfo, FeatureSetVersionInfo
from lineage.errors import (
    FeatureCodeError,
    ImmutableVersionError,
    InvalidInputError,
    InvalidNameError,
    NotFoundError,
    SemverError,
)
from lineage.features.definition import FeatureSet
from lineage.features.schema import FeatureSetSchema, load_schema, parse_schema
from lineage.features.semver import SemVer
from lineage.hashing import sha256_bytes
from lineage.naming import validate_name
from lineage.progress import NO_PROGRESS, Progress
from lineage.stored_text import TAG_LIMIT, check_text, is_storable
from lineage.tables import FeatureCodeRow, FeatureSetRow, FeatureSetVersion

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from lineage.entities import SnapshotInfo
    from lineage.features.contracts import BatchReport
    from lineage.features.diff import SchemaDiff
    from lineage.features.parity import OnlineFunction, ParityReport
    from lineage.store import Store


class _Candidate:
    """A version ready to insert: everything computed and checked before any write."""

    def __init__(self, schema: FeatureSetSchema, feature_set: FeatureSet, module: str, module_path: str) -> None:
        from lineage.features.codehash import code_hash
        from lineage.gitinfo import git_state

        self.schema = schema
        self.module = module
        self.module_path = module_path
        self.codes = {}
        for name in schema.features:
            source = feature_set.features[name].source()
            self.codes[name] = FeatureInfo(name=name, dtype=schema.features[name].dtype, source=source,
                                           code_hash=code_hash(source))
        self.set_hash = set_hash(schema, {n: c.code_hash for n, c in self.codes.items()})
        state = git_state(module_path) if module_path else None
        self.git_commit = state.commit if state else ""
        self.git_dirty = state.dirty if state else None


def set_hash(schema: FeatureSetSchema, code_hashes: dict[str, str]) -> str:
    """sha256 over the canonical schema (without its version) and every feature's code hash."""
    content = {k: v for k, v in schema.canonical().items() if k != "version"}
    return "sha256:" + sha256_bytes(canonical_json({"schema": content, "code": code_hashes}).encode())


class FeatureService:
    """The verbs register, get, find, list, diff and release."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- register -------------------------------------------------------------------------
    def register(
        self,
        schema: FeatureSetSchema | str | Path | dict,
        module: str | ModuleType | None = None,
        *,
        feature_set: FeatureSet | None = None,
        allow_breaking: str = "",
    ) -> FeatureSetVersionInfo:
        """Register the version ``schema`` describes, computed by the code in ``module`` (or ``feature_set``)."""
        from lineage.features.loading import find_feature_set, load_module, require_module_code

        store = self._store
        store.require_writable()
        parsed = _as_schema(schema)
        if feature_set is None:
            if module is None:
                raise InvalidInputError("no feature code given: pass --module MODULE_OR_PATH (or feature_set=)")
            loaded = module if isinstance(module, ModuleType) else load_module(module)
            feature_set = find_feature_set(loaded, parsed.feature_set)
        elif feature_set.name != parsed.feature_set:
            raise FeatureCodeError(
                f"schema is for feature set '{parsed.feature_set}' but the code defines '{feature_set.name}': "
                "use matching names"
            )
        require_module_code(feature_set)
        parsed = _match_code(parsed, feature_set)
        module_name, module_path = _module_of(feature_set, module)
        _check_texts(parsed, module_name, module_path, allow_breaking)
        candidate = _Candidate(parsed, feature_set, module_name, module_path)
        reason = allow_breaking.strip()

        with store.db.session() as session:
            existing = self._check_existing(session, candidate)
            if existing is not None:
                return existing
            previous = self._latest(session, parsed.feature_set)
        diff = self._diff_to(previous, candidate) if previous is not None else None
        _require_above_latest(parsed, previous, diff)
        problems = self._enforce_semver(parsed, previous, diff, reason)

        affected = self._affected(previous, candidate, diff)
        with store.db.session(write=True) as session:
            existing = self._check_existing(session, candidate)  # re-check under the write lock
            if existing is not None:
                return existing
            self._require_latest_unchanged(session, parsed, previous)
            return self._insert(session, candidate, previous, diff, reason if problems else "", affected)

    def _affected(self, previous: FeatureSetVersionInfo | None, candidate: _Candidate,
                  diff: SchemaDiff | None) -> list[str]:
        """Aliased models trained on the previous version that use a feature this version changes."""
        from lineage.models.staleness import affected_by_new_version

        if previous is None or diff is None:
            return []
        changed = sorted({c.feature for c in diff.changes if c.feature and c.change_class == "major"})
        return affected_by_new_version(self._store, previous, changed)

    def _check_existing(self, session: Session, candidate: _Candidate) -> FeatureSetVersionInfo | None:
        row = self._version_row(session, candidate.schema.feature_set, candidate.schema.version)
        if row is None:
            return None
        if row.set_hash != candidate.set_hash:
            raise ImmutableVersionError(
                f"{candidate.schema.ref} is already registered with set hash {row.set_hash}; this schema and code "
                f"hash to {candidate.set_hash}: register the change as a new version"
            )
        return self._to_info(session, row)

    def _latest(self, session: Session, name: str) -> FeatureSetVersionInfo | None:
        """The highest registered version (the one a new version must follow and be compatible with).

        Among versions of equal precedence (possible in stores written before versions had to
        increase) the earliest registered wins, as in ``get``.
        """
        rows = self._rows(session, name)
        if not rows:
            return None
        return self._to_info(session, max(rows, key=lambda r: SemVer.parse(r.version)))

    def _require_latest_unchanged(
        self, session: Session, schema: FeatureSetSchema, checked: FeatureSetVersionInfo | None
    ) -> None:
        """Under the write lock: the candidate was checked against the latest version, which must still be it."""
        versions = [r.version for r in self._rows(session, schema.feature_set)]
        latest = max(versions, key=SemVer.parse) if versions else None
        if latest != (checked.version if checked is not None else None):
            raise SemverError(
                f"{schema.feature_set} {latest} was registered while {schema.version} was being checked: "
                "run the command again to check against it"
            )

    @staticmethod
    def _diff_to(previous: FeatureSetVersionInfo, candidate: _Candidate) -> SchemaDiff:
        from lineage.features.codehash import FeatureCode
        from lineage.features.diff import diff_schemas

        return diff_schemas(
            parse_schema(previous.schema), candidate.schema,
            old_code={f.name: FeatureCode(f.name, f.source, f.code_hash) for f in previous.features},
            new_code={n: FeatureCode(n, c.source, c.code_hash) for n, c in candidate.codes.items()},
        )

    @staticmethod
    def _enforce_semver(
        schema: FeatureSetSchema, previous: FeatureSetVersionInfo | None, diff: SchemaDiff | None, reason: str
    ) -> list[str]:
        """The bump problems (empty when the bump suffices); refused unless a reason allows them."""
        from lineage.features.diff import bump_problems

        if previous is None or diff is None:
            return []
        problems = bump_problems(schema.feature_set, SemVer.parse(previous.version), schema.semver, diff)
        if problems and not reason:
            raise SemverError(
                "; ".join(problems) + f" (or pass --allow-breaking \"REASON\" to register {schema.version} anyway)"
            )
        return problems

    def _insert(
        self, session: Session, candidate: _Candidate, previous: FeatureSetVersionInfo | None,
        diff: SchemaDiff | None, reason: str, affected: list[str] | None = None,
    ) -> FeatureSetVersionInfo:
        actor = self._store.actor
        schema = candidate.schema
        set_row = session.exec(select(FeatureSetRow).where(FeatureSetRow.name == schema.feature_set)).first()
        if set_row is None:
            set_row = FeatureSetRow(name=schema.feature_set, created_by=actor)
            session.add(set_row)
            session.flush()
        required = diff.required_bump if diff is not None else ""
        row = FeatureSetVersion(
            feature_set_id=set_row.id, version=schema.version, schema_doc=canonical_json(schema.canonical()),
            set_hash=candidate.set_hash, module=candidate.module, module_path=candidate.module_path,
            git_commit=candidate.git_commit, git_dirty=candidate.git_dirty, change_class=required,
            allow_breaking=reason, created_by=actor,
        )
        session.add(row)
        session.flush()
        for position, (name, code) in enumerate(candidate.codes.items()):
            session.add(FeatureCodeRow(version_id=row.id, name=name, position=position, dtype=code.dtype,
                                       source=code.source, code_hash=code.code_hash))
        session.flush()
        info = self._to_info(session, row, created=True, previous=previous.version if previous else "",
                             affected=affected or [])
        append_event(
            session, actor=actor, action="features.register", subject=info.ref,
            payload={
                "set_hash": info.set_hash, "schema": info.schema,
                "code_hashes": {f.name: f.code_hash for f in info.features},
                "module": info.module, "git_commit": info.git_commit, "git_dirty": info.git_dirty,
                "previous": info.previous, "required_bump": required,
                "changes": [c.to_json() for c in diff.changes] if diff is not None else [],
                "allow_breaking": info.allow_breaking, "affected": info.affected,
            },
        )
        return info

    # -- lookups --------------------------------------------------------------------------
    def get(self, ref: str) -> FeatureSetVersionInfo:
        """``name@version``, or ``name`` for its highest version; NotFoundError if none.

        ``name@`` (an empty version) is refused rather than read as "highest": a version
        that went missing from a script must not silently pick whatever is latest.
        """
        if not isinstance(ref, str):
            raise InvalidInputError(f"feature-set reference must be text such as 'customer_features@2.1.0', "
                                    f"not {type(ref).__name__} {ref!r}")
        name, at, version = ref.partition("@")
        validate_name(name, what="feature set name")
        if at:
            _require_version(version, ref=ref)
        with self._store.db.session() as session:
            rows = self._rows(session, name)
            if not rows:
                known = ", ".join(self._names(session)) or "none registered yet"
                raise NotFoundError(f"no feature set '{name}' (known: {known}): register it with `lineage features register`")
            if not version:
                row = max(rows, key=lambda r: SemVer.parse(r.version))
            else:
                row = next((r for r in rows if r.version == version), None)
                if row is None:
                    versions = ", ".join(sorted((r.version for r in rows), key=SemVer.parse))
                    raise NotFoundError(f"{name} has no version {version} (registered: {versions})")
            return self._to_info(session, row)

    def find(self, ref: str) -> FeatureSetVersionInfo | None:
        try:
            return self.get(ref)
        except NotFoundError:
            return None

    def list(self, name: str | None = None) -> list[FeatureSetVersionInfo]:
        """Every version, by feature-set name then semver order.

        Two queries whatever the number of versions (versions with their set names, then
        every feature's code), so pages listing hundreds of versions stay fast.
        """
        with self._store.db.session() as session:
            query = select(*_VERSION_COLUMNS, FeatureSetRow.name).join(FeatureSetRow).order_by(col(FeatureSetVersion.id))
            codes_query = _FEATURE_COLUMNS.join(FeatureSetVersion).join(FeatureSetRow)
            if name is not None:
                query = query.where(FeatureSetRow.name == name)
                codes_query = codes_query.where(FeatureSetRow.name == name)
            rows = list(session.exec(query))
            codes = _features_by_version(session, codes_query)
        by_set: dict[str, list[Any]] = {}
        for row in rows:
            by_set.setdefault(row[-1], []).append(row)
        infos = []
        for set_name in sorted(by_set):
            ordered = sorted(by_set[set_name], key=lambda r: SemVer.parse(r.version))  # stable: ties by id
            for row, previous in zip(ordered, _previous_versions([r.version for r in ordered]), strict=True):
                infos.append(_info(row, set_name, codes.get(row.id or -1, []), previous))
        return infos

    def get_many(self, refs: Iterable[str]) -> dict[str, FeatureSetVersionInfo]:
        """Exact ``name@version`` refs → their versions, in three queries however many are asked for.

        An unknown ref raises NotFoundError naming it (``get`` resolves other spellings).
        """
        wanted = {ref: ref.partition("@") for ref in refs}
        if not wanted:
            return {}
        names = {name for name, _, _ in wanted.values() if is_storable(name)}  # others name nothing stored
        with self._store.db.session() as session:
            light = list(session.exec(
                select(FeatureSetVersion.id, FeatureSetRow.name, FeatureSetVersion.version).join(FeatureSetRow)
                .where(col(FeatureSetRow.name).in_(names)).order_by(col(FeatureSetVersion.id))
            ))
            by_set: dict[str, list[tuple[str, int]]] = {}
            for row_id, set_name, version in light:
                by_set.setdefault(set_name, []).append((version, row_id))
            previous: dict[tuple[str, str], str] = {}
            ids: dict[tuple[str, str], int] = {}
            for set_name, pairs in by_set.items():
                ordered = sorted(pairs, key=lambda p: SemVer.parse(p[0]))  # stable: ties by id
                versions = [v for v, _ in ordered]
                previous.update({(set_name, v): p for v, p in zip(versions, _previous_versions(versions), strict=True)})
                ids.update({(set_name, v): i for v, i in ordered})
            missing = [ref for ref, (name, _, version) in wanted.items() if (name, version) not in ids]
            if missing:
                raise NotFoundError(f"no feature-set version {', '.join(sorted(missing)[:5])}: see `lineage features list`")
            chosen = {ids[(name, version)]: (name, version) for name, _, version in wanted.values()}
            rows = {r.id: r for r in session.exec(select(*_VERSION_COLUMNS).where(col(FeatureSetVersion.id).in_(chosen)))}
            codes = _features_by_version(session, _FEATURE_COLUMNS.where(col(FeatureCodeRow.version_id).in_(chosen)))
        return {
            f"{name}@{version}": _info(rows[row_id], name, codes.get(row_id, []), previous[(name, version)])
            for row_id, (name, version) in chosen.items()
        }

    def refs(self) -> list[str]:
        """Every version's ``name@version``, in ``list()`` order, from one light query (for pickers)."""
        with self._store.db.session() as session:
            pairs = list(session.exec(select(FeatureSetRow.name, FeatureSetVersion.version).join(FeatureSetRow)
                                      .order_by(col(FeatureSetVersion.id))))
        return [f"{name}@{version}" for name, version in sorted(pairs, key=lambda p: (p[0], SemVer.parse(p[1])))]

    def count(self) -> int:
        """How many feature-set versions exist (one SQL count, for overviews)."""
        from sqlalchemy import func

        with self._store.db.session() as session:
            return int(session.exec(select(func.count()).select_from(FeatureSetVersion)).one())

    def diff(self, name: str, from_version: str, to_version: str) -> SchemaDiff:
        """What changed from one registered version to another, each change classified."""
        from lineage.features.codehash import FeatureCode
        from lineage.features.diff import diff_schemas

        validate_name(name, what="feature set name")
        _require_version(from_version, ref=f"{name}@{from_version}")
        _require_version(to_version, ref=f"{name}@{to_version}")
        old, new = self.get(f"{name}@{from_version}"), self.get(f"{name}@{to_version}")
        return diff_schemas(
            parse_schema(old.schema), parse_schema(new.schema),
            old_code={f.name: FeatureCode(f.name, f.source, f.code_hash) for f in old.features},
            new_code={f.name: FeatureCode(f.name, f.source, f.code_hash) for f in new.features},
        )

    # -- release --------------------------------------------------------------------------
    def release(self, ref: str) -> FeatureSetVersionInfo:
        """Create the git tag ``<feature_set>/v<version>`` at the commit the version was registered from."""
        from lineage.gitinfo import create_tag, git_state

        store = self._store
        store.require_writable()
        info = self.get(ref)
        tag = f"{info.feature_set}/v{info.version}"
        check_text(tag, what=f"the release tag of {info.ref}", limit=TAG_LIMIT,
                   fix="a name and version that long cannot be tagged; register a shorter version")
        if not info.git_commit:
            raise InvalidInputError(
                f"{info.ref} was not registered from a git work tree: commit the feature module and register a new version"
            )
        if info.git_dirty:
            raise InvalidInputError(
                f"{info.ref} was registered from a dirty work tree, so commit {info.git_commit[:12]} does not hold its "
                "code: commit the changes and register a new version"
            )
        state = git_state(info.module_path)
        if not state.root:
            raise InvalidInputError(f"{info.module_path} is not in a git work tree any more: release from the checkout")
        if state.dirty:
            raise InvalidInputError(f"the work tree {state.root} is dirty: commit or stash the changes, then release")
        if info.released_tag:
            return info
        create_tag(state.root, tag, info.git_commit, f"{info.ref} (set hash {info.set_hash})")
        with store.db.session(write=True) as session:
            row = self._version_row(session, info.feature_set, info.version)
            assert row is not None
            if not row.released_tag:
                row.released_tag = tag
                session.add(row)
                session.flush()
                append_event(session, actor=store.actor, action="features.release", subject=info.ref,
                             payload={"tag": tag, "commit": info.git_commit, "set_hash": info.set_hash})
            return self._to_info(session, row)

    # -- computing on data (the work lives in its own modules) ----------------------------
    def materialize(
        self, ref: str, snapshot: str, *, dataset: str | None = None, version: str | None = None,
        progress: Progress = NO_PROGRESS,
    ) -> SnapshotInfo:
        """Compute version ``ref`` on a registered snapshot and register the result (see materialize.py)."""
        from lineage.features.materialize import materialize

        return materialize(self._store, ref, snapshot, dataset=dataset, version=version, progress=progress)

    def parity(self, ref: str, snapshot: str, *, sample: int = 200, online: OnlineFunction | None = None) -> ParityReport:
        """Offline vs online values of ``sample`` rows of a snapshot (see parity.py)."""
        from lineage.features.parity import parity

        return parity(self._store, ref, snapshot, sample=sample, online=online)

    def validate(self, ref: str, data: str | Path | pa.Table | pd.DataFrame) -> BatchReport:
        """Every violation of the version's schema contract in a file or table (see contracts.py)."""
        from lineage.features.contracts import validate_batch
        from lineage.features.validation import validate_file

        if isinstance(data, str | Path):
            return validate_file(self._store, ref, data)
        return validate_batch(data, parse_schema(self.get(ref).schema))

    def historical(
        self, entity_rows: pa.Table | pd.DataFrame, snapshot: str, *, event_timestamp: str,
        entity: str | None = None, feature_timestamp: str | None = None, ttl: timedelta | None = None,
    ) -> pd.DataFrame:
        """Point-in-time correct feature values for each entity row, from a features snapshot.

        The entity and timestamp columns default to those of the feature-set version the
        snapshot was materialised from (see pit.py for the exact semantics).
        """
        from lineage.features.pit import point_in_time_join
        from lineage.snapshot_data import read_table

        info = self._store.snapshots.get(snapshot)
        if entity is None or feature_timestamp is None:
            source = self.materialized_from(info.ref)
            if source is None:
                raise InvalidInputError(
                    f"{info.ref} was not materialised from a feature set: pass entity= and feature_timestamp="
                )
            entity = entity or source.schema["entity"]
            feature_timestamp = feature_timestamp or source.schema["timestamp"]
        return point_in_time_join(entity_rows, read_table(self._store, info), entity=entity,
                                  event_timestamp=event_timestamp, feature_timestamp=feature_timestamp, ttl=ttl)

    def materialized_from(self, snapshot: str) -> FeatureSetVersionInfo | None:
        """The feature-set version a features snapshot was computed by, if any."""
        from lineage.edges import FEATURE_SET_VERSION, MATERIALIZED
        from lineage.tables import Dataset, Edge, Snapshot

        info = self._store.snapshots.get(snapshot)
        with self._store.db.session() as session:
            row = session.exec(
                select(FeatureSetVersion).join(Edge, Edge.parent_id == FeatureSetVersion.id)
                .join(Snapshot, Snapshot.id == Edge.child_id).join(Dataset, Dataset.id == Snapshot.dataset_id)
                .where(Edge.parent_kind == FEATURE_SET_VERSION, Edge.relation == MATERIALIZED,
                       Edge.child_kind == "snapshot", Dataset.name == info.dataset, Snapshot.version == info.version)
            ).first()
            return self._to_info(session, row) if row is not None else None

    def version_id(self, ref: str) -> int:
        """The row id of a version (lineage edges point at it)."""
        info = self.get(ref)
        with self._store.db.session() as session:
            row = self._version_row(session, info.feature_set, info.version)
            assert row is not None and row.id is not None
            return row.id

    # -- code of a registered version -----------------------------------------------------
    def load_code(self, info: FeatureSetVersionInfo) -> tuple[FeatureSetSchema, FeatureSet]:
        """Import the recorded module and prove its code still hashes to what was registered."""
        from lineage.features.codehash import code_hash
        from lineage.features.loading import find_feature_set, load_module

        target = info.module if _importable(info.module) else info.module_path
        feature_set = find_feature_set(load_module(target), info.feature_set)
        for feature in info.features:
            current = feature_set.features.get(feature.name)
            if current is None or code_hash(current.source()) != feature.code_hash:
                hint = f"check out tag {info.released_tag}" if info.released_tag else (
                    f"check out commit {info.git_commit[:12]}" if info.git_commit else "restore the module")
                raise FeatureCodeError(
                    f"the code of feature '{feature.name}' in {info.module} no longer matches {info.ref} "
                    f"(registered {feature.code_hash[:19]}): {hint}"
                )
        return parse_schema(info.schema), feature_set

    # -- rows → entities ------------------------------------------------------------------
    @staticmethod
    def _names(session: Session) -> list[str]:
        return list(session.exec(select(FeatureSetRow.name).order_by(byte_order(FeatureSetRow.name))))

    @staticmethod
    def _rows(session: Session, name: str) -> list[FeatureSetVersion]:
        return list(session.exec(
            select(FeatureSetVersion).join(FeatureSetRow).where(FeatureSetRow.name == name)
            .order_by(col(FeatureSetVersion.id))
        ))

    @staticmethod
    def _version_row(session: Session, name: str, version: str) -> FeatureSetVersion | None:
        return session.exec(
            select(FeatureSetVersion).join(FeatureSetRow)
            .where(FeatureSetRow.name == name, FeatureSetVersion.version == version)
        ).first()

    def _to_info(
        self, session: Session, row: FeatureSetVersion, *, created: bool = False, previous: str | None = None,
        affected: list[str] | None = None,
    ) -> FeatureSetVersionInfo:
        name = session.exec(select(FeatureSetRow.name).where(FeatureSetRow.id == row.feature_set_id)).one()
        codes = list(session.exec(
            select(FeatureCodeRow).where(FeatureCodeRow.version_id == row.id).order_by(col(FeatureCodeRow.position))
        ))
        if previous is None:
            below = [r.version for r in self._rows(session, name) if SemVer.parse(r.version) < SemVer.parse(row.version)]
            previous = max(below, key=SemVer.parse) if below else ""
        features = [FeatureInfo(c.name, c.dtype, c.source, c.code_hash) for c in codes]
        return _info(row, name, features, previous, created=created, affected=affected)


_VERSION_COLUMNS = tuple(FeatureSetVersion.__table__.columns)  # type: ignore[attr-defined]
"""A version row as plain columns (``row.version`` etc. read the same as on the ORM object)."""
_FEATURE_COLUMNS = select(FeatureCodeRow.version_id, FeatureCodeRow.name, FeatureCodeRow.dtype, FeatureCodeRow.source,
                          FeatureCodeRow.code_hash)
"""Feature code as plain columns: building thousands of ORM rows costs more than the query."""


def _features_by_version(session: Session, query: Any) -> dict[int, list[FeatureInfo]]:
    """version id → its features in position order, from a ``_FEATURE_COLUMNS`` query."""
    features: dict[int, list[FeatureInfo]] = {}
    ordered = query.order_by(col(FeatureCodeRow.version_id), col(FeatureCodeRow.position))
    for version_id, name, dtype, source, code_hash in session.exec(ordered):
        features.setdefault(version_id, []).append(FeatureInfo(name, dtype, source, code_hash))
    return features


def _info(row: Any, name: str, features: list[FeatureInfo], previous: str, *, created: bool = False,
          affected: list[str] | None = None) -> FeatureSetVersionInfo:
    """The entity of one version row, its set name, its features (by position) and its predecessor."""
    from datetime import UTC

    return FeatureSetVersionInfo(
        feature_set=name, version=row.version, schema=json.loads(row.schema_doc),
        features=features,
        set_hash=row.set_hash, module=row.module, module_path=row.module_path, git_commit=row.git_commit,
        git_dirty=row.git_dirty, previous=previous, change_class=row.change_class,
        allow_breaking=row.allow_breaking, released_tag=row.released_tag,
        created_at=row.created_at.replace(tzinfo=UTC), created_by=row.created_by, created=created,
        affected=affected or [],
    )


def _previous_versions(ordered: list[str]) -> list[str]:
    """For versions in semver order, each one's highest strictly lower version ("" for the first).

    The same answer ``_to_info`` gives one version at a time: versions equal in precedence
    (differing only in build metadata) are not each other's predecessor, and among equals
    the earliest registered one is named (``ordered`` breaks ties by registration).
    """
    parsed = [SemVer.parse(v) for v in ordered]
    previous, lower, run_start = [], "", 0
    for index, version in enumerate(parsed):
        if index and parsed[index - 1] < version:
            lower, run_start = ordered[run_start], index
        previous.append(lower)
    return previous


def _check_texts(schema: FeatureSetSchema, module_name: str, module_path: str, allow_breaking: str) -> None:
    """Refuse text no backend can store (lone surrogates from a JSON escape, a NUL), before any write."""
    check_text(canonical_json(schema.canonical()), what=f"the schema of {schema.ref}")
    check_text(module_name, what="module name")
    check_text(module_path, what="module path")
    check_text(allow_breaking, what="allow-breaking reason")


def _require_version(version: str, *, ref: str) -> None:
    """An explicit version must not be empty (snapshot refs refuse ``name@`` the same way)."""
    if not version:
        raise InvalidNameError(
            f"version is empty in '{ref}': give a registered version after the @ (see `lineage features list`)"
        )


def _require_above_latest(
    schema: FeatureSetSchema, latest: FeatureSetVersionInfo | None, diff: SchemaDiff | None
) -> None:
    """A new version must sort above every registered one; ``--allow-breaking`` does not change that.

    A lower version would bypass the bump check (it has no predecessor to compare with, or an
    older one) and would never become "the latest", so it is refused outright.
    """
    from lineage.features.diff import not_above_latest

    if latest is None or diff is None:
        return
    previous = SemVer.parse(latest.version)
    if not schema.semver > previous:
        raise SemverError(not_above_latest(schema.feature_set, previous, schema.semver, diff))


def _as_schema(schema: FeatureSetSchema | str | Path | dict) -> FeatureSetSchema:
    if isinstance(schema, FeatureSetSchema):
        return schema
    if isinstance(schema, dict):
        return parse_schema(schema)
    if not isinstance(schema, str | Path):
        raise InvalidInputError(f"schema must be a schema file path, a dict or a FeatureSetSchema, not "
                                f"{type(schema).__name__} {schema!r}")
    return load_schema(schema)


def _match_code(schema: FeatureSetSchema, feature_set: FeatureSet) -> FeatureSetSchema:
    """Schema and code must describe the same features, dtypes, entity and timestamp."""
    code = feature_set.features
    for name in schema.features:
        if name not in code:
            raise FeatureCodeError(
                f"schema feature '{name}' has no code in feature set '{feature_set.name}': define it or remove it from the schema"
            )
    for name, feature in code.items():
        if name not in schema.features:
            raise FeatureCodeError(
                f"feature '{name}' of '{feature_set.name}' has no schema entry: add it to the schema or remove its code"
            )
        if feature.dtype != schema.features[name].dtype:
            raise FeatureCodeError(
                f"feature '{name}' is {feature.dtype} in the code but {schema.features[name].dtype} in the schema: make them agree"
            )
    updates = {}
    for key, value in (("entity", feature_set.entity), ("timestamp", feature_set.timestamp)):
        declared = getattr(schema, key)
        if declared is None:
            updates[key] = value
        elif value is not None and declared != value:
            raise FeatureCodeError(
                f"schema {key} is '{declared}' but the code's is '{value}': make them agree"
            )
    return schema.model_copy(update=updates) if updates else schema


def _module_of(feature_set: FeatureSet, given: str | ModuleType | None) -> tuple[str, str]:
    """Dotted name and file of the module that defines the feature set."""
    import sys

    if isinstance(given, ModuleType):
        module = given
    else:
        owners = [m for m in list(sys.modules.values()) if isinstance(m, ModuleType)
                  and any(v is feature_set for v in vars(m).values())]
        module = owners[0] if owners else None
    if module is None:
        return "", ""
    path = getattr(module, "__file__", None) or ""
    return module.__name__, str(Path(path).resolve()) if path else ""


def _importable(module: str) -> bool:
    import importlib.util
    import sys

    if not module or module.startswith("lineage_user_features."):
        return False
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
