"""What every page shares: the opened store (cached per settings) and the error line.

Not a page itself (``app.py`` lists the pages with ``st.navigation``). Streamlit code
lives here and in the pages only; everything else is the ``lineage`` library.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from lineage.errors import LineageError, SchemaVersionError, StoreMissingError
from lineage.store import Store

T = TypeVar("T")

_SETTING_VARS = ("LINEAGE_HOME", "LINEAGE_DB_URL", "LINEAGE_STORE_URL", "LINEAGE_USER", "LINEAGE_READ_ONLY")


def settings_key() -> tuple[str, ...]:
    """The environment that decides which store is open: the cache key of ``store()``."""
    return tuple(os.environ.get(name, "") for name in _SETTING_VARS)


@st.cache_resource(show_spinner=False, max_entries=4)
def _open_store(_key: tuple[str, ...]) -> Store:
    return Store.open()


def store(on_missing: Callable[[], None] | None = None) -> Store | None:
    """The store the environment names, or None after saying why it cannot be opened.

    ``on_missing`` runs only when no store exists there yet (it may offer to create one):
    a damaged database, an old schema or an unreachable server must not be "created" over.
    """
    try:
        return _open_store(settings_key())
    except StoreMissingError as exc:
        st.info(f"{exc}. To try the dashboard with sample data: `lineage demo`.")
        if on_missing is not None:
            on_missing()
        return None
    except SchemaVersionError as exc:
        st.info(str(exc))
        return None
    except LineageError as exc:
        st.error(str(exc))
        return None


def forget_store() -> None:
    """Drop the cached store (after `init`/`demo` created it from the page)."""
    _open_store.clear()


SOURCE_CHECK_TTL_S = 60
"""How long a result that also reads files outside the store (source paths on disk) is reused."""


def cached(view: Callable[..., T], opened: Store, *args: Any, disk: bool = False) -> T:
    """``view(opened, *args)``, computed once per store content and reused by every later render.

    The key is the view's name, its arguments, the settings naming the store and the audit
    head (one primary-key read): every write appends an audit event in its own transaction,
    so a registration, promotion or saved report changes the head and the next render
    recomputes. ``disk`` views also read files outside the store (source paths), which no
    event records: they are recomputed at least every ``SOURCE_CHECK_TTL_S`` seconds.
    Arguments must be hashable values (tuples, not lists); library errors are not cached.
    """
    name = f"{view.__module__}.{view.__qualname__}"
    if "<" in name:
        raise TypeError(f"cached() needs a named function, not {name}")  # lambdas would share one key
    remember = _remember_briefly if disk else _remember
    return remember(name, settings_key(), opened.audit.head(), args, view, opened)


@st.cache_data(show_spinner=False, max_entries=256)
def _remember(name: str, settings: tuple[str, ...], head: tuple[int, str], args: tuple[Any, ...],
              _view: Callable[..., Any], _opened: Store) -> Any:
    """Hashed: name, settings, head and args (the key); underscored: not hashed (Streamlit's rule)."""
    return _view(_opened, *args)


@st.cache_data(show_spinner=False, max_entries=64, ttl=SOURCE_CHECK_TTL_S)
def _remember_briefly(name: str, settings: tuple[str, ...], head: tuple[int, str], args: tuple[Any, ...],
                      _view: Callable[..., Any], _opened: Store) -> Any:
    return _view(_opened, *args)


@contextmanager
def library_errors() -> Iterator[None]:
    """Show any library error as one ``st.error`` line instead of a traceback."""
    try:
        yield
    except LineageError as exc:
        st.error(str(exc))


def call(action: Callable[[], T]) -> T | None:
    """Run a library call; on a LineageError show its one line and return None."""
    try:
        return action()
    except LineageError as exc:
        st.error(str(exc))
        return None


def snapshot_columns() -> dict[str, Any]:
    """Column widths and formats for snapshot tables, so the default columns fit without scrolling."""
    return {
        "rows": st.column_config.NumberColumn("rows", format="localized"),
        "created_at": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm"),
        "created_by": st.column_config.TextColumn("by"),
    }


def graph_columns() -> dict[str, Any]:
    """Column widths for lineage node tables."""
    return {
        "depth": st.column_config.NumberColumn("depth", width="small"),
    }


class StreamlitProgress:
    """``lineage.progress.Progress`` drawn as an ``st.progress`` bar.

    The library may report from worker threads, which have no Streamlit context: they
    only add to the counter, and the bar is redrawn from the page's own thread.
    """

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._owner = threading.get_ident()
        self._bar: Any = None
        self._label = ""
        self._total = 0
        self._done = 0
        self._shown = -1

    def start(self, total: int, label: str) -> None:
        with self._lock:
            self._total, self._done, self._label, self._shown = max(total, 1), 0, label, -1
        self._bar = st.progress(0.0, text=label)

    def advance(self, amount: int) -> None:
        import threading

        with self._lock:
            self._done += amount
            percent = min(100, self._done * 100 // self._total)
        if threading.get_ident() == self._owner and self._bar is not None and percent != self._shown:
            self._shown = percent
            self._bar.progress(percent / 100, text=f"{self._label}: {percent}%")

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.empty()
            self._bar = None


def confirmed_form(key: str, action: str) -> str | None:
    """A form asking for a reason and a confirmation; the reason once both are given, else None.

    Moves that change what serves (promote, rollback) are never one click: the user
    writes why (it goes into the audit log) and confirms having read the preview.
    """
    with st.form(key):
        reason = st.text_input("Reason (kept in the audit log)", key=f"{key}_reason")
        confirm = st.checkbox("I have checked what will change", key=f"{key}_confirm")
        submitted = st.form_submit_button(action.capitalize())
    if not submitted:
        return None
    if not confirm:
        st.error(f"Tick the confirmation to {action}.")
        return None
    if not reason.strip():  # checked here so the message names this field, not the CLI's --reason
        st.error(f"Write why in the Reason field to {action}: it is kept in the audit log.")
        return None
    return reason


def default_following(key: str, value: Any, depends_on: Any) -> None:
    """Set widget ``key`` to ``value`` whenever ``depends_on`` changed since the last render.

    A keyed widget ignores a changed ``index=`` here (Streamlit 1.67 keeps a keyed widget's
    state), so a default that follows another choice is written into session state before
    the widget is drawn; the user's own pick stays until ``depends_on`` changes. Call it
    before the widget and do not also pass ``index=``.
    """
    marker = f"_{key}_follows"
    if key not in st.session_state or st.session_state.get(marker) != depends_on:
        st.session_state[key] = value
        st.session_state[marker] = depends_on


def register_snapshot(opened: Store, *, upload: Any, server_path: str, dataset: str, version: str | None,
                      stage: str, parents: list[str], note: str) -> Any:
    """Register an uploaded file (spooled to a private temp file) or a server path, with a progress bar.

    Exactly one source must be given; the library checks everything else and writes
    nothing when it refuses.
    """
    import tempfile

    from lineage.errors import InvalidInputError

    if (upload is None) == (not server_path.strip()):
        raise InvalidInputError("give either an uploaded file or a server path (exactly one)")
    if not dataset:
        raise InvalidInputError("dataset name is empty: pick a dataset or type a new name")
    progress = StreamlitProgress()
    if upload is None:
        return opened.snapshots.add(server_path.strip(), dataset=dataset, version=version, stage=stage,
                                    parents=parents, note=note, progress=progress)
    name = Path(upload.name).name
    with tempfile.TemporaryDirectory(prefix="lineage-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(upload.getvalue())
        try:
            return opened.snapshots.add(path, dataset=dataset, version=version, stage=stage, parents=parents, note=note,
                                        progress=progress, source_uri=f"upload:{name}")
        except LineageError as exc:
            raise _naming_the_upload(exc, path, name) from None


def _naming_the_upload(exc: LineageError, spooled: Path, name: str) -> LineageError:
    """The library's error with the private temp path replaced by the name the user uploaded.

    Why: the library names the path it was given, which for an upload is a temp file the
    user never saw (and which is gone by the time the message is read).
    """
    exc.args = (str(exc).replace(str(spooled), name).replace(str(spooled.parent), "the upload"),)
    return exc
