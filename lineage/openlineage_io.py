"""Writing and sending exported OpenLineage events: canonical JSON lines, atomic files, HTTP POST.

Lines are canonical JSON (sorted keys, no spaces, UTF-8 kept). ``encode_spliced`` lets an
export encode a recurring part once (a snapshot's dataset, a schema) and splice its JSON
into every event that carries it: the result is byte for byte ``to_json_line`` of the whole.

Encoding is orjson's (sorted keys, compact, UTF-8): an export spends a third of its time
in the encoder, and orjson's is several times faster than the standard library's. A value
orjson refuses (an integer beyond 64 bits, a non-string key) falls back to the standard
encoder with the same settings, so every value still gets a line. A NaN or infinite metric
is written as ``null`` (the standard encoder wrote ``NaN``, which is not JSON and which
OpenLineage consumers reject).
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson

from lineage.errors import InvalidInputError, LineageError

_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False)
_PLACEHOLDER = f"\x00lineage-fragment-{uuid.uuid4().hex}:"  # per process: no stored text can contain it
_PLACEHOLDER_JSON: list[str] = []


def placeholder(index: int) -> str:
    return f"{_PLACEHOLDER}{index}\x00"


def encode_spliced(value: Any, fragments: list[str]) -> str:
    """``to_json_line(value)`` where ``placeholder(i)`` strings stand for the already encoded ``fragments[i]``.

    The bulk of an event is datasets that recur across events (a snapshot is the output of
    one and the input of others) and schemas that recur across snapshots: encoding each once
    and splicing it in makes one C-encoder call per event instead of one per part.
    """
    text = to_json_line(value)
    while len(_PLACEHOLDER_JSON) < len(fragments):
        _PLACEHOLDER_JSON.append(to_json_line(placeholder(len(_PLACEHOLDER_JSON))))
    for index, fragment in enumerate(fragments):
        text = text.replace(_PLACEHOLDER_JSON[index], fragment, 1)
    return text


def to_json_line(event: Any) -> str:
    """Canonical one-line JSON: sorted keys, no spaces, UTF-8 kept."""
    try:
        return orjson.dumps(event, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # beyond orjson's types (a 65-bit integer, a non-string key): the standard encoder
        return _ENCODER.encode(event)


@dataclass(frozen=True)
class WrittenLines:
    """A file of ``count`` newline-terminated lines another process wrote: copied in bulk, never re-read as lines."""

    path: Path
    count: int


# Links under these name an open descriptor (``>(cmd)`` is /dev/fd/63): the shell opened it, so write into it.
def write_jsonl(events: Iterable[dict[str, Any] | str | WrittenLines], path: str | Path) -> int:
    """Write one event (a dict, or a line from ``export_lines``) per line, UTF-8; return how many.

    A file is written atomically (temp + rename next to it, or next to a symlink's target);
    a pipe or device (``-o >(gzip > x.gz)``, ``-o /dev/stdout``) is written straight into,
    see ``output_destination``. A ``WrittenLines`` item (a slice a worker exported) is
    appended byte for byte.
    """
    from lineage.user_paths import output_destination

    target, in_place = output_destination(path)
    if in_place:
        with open(target, "w", encoding="utf-8") as handle:
            return _write_lines(events, handle)
    tmp = target.with_name(target.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            count = _write_lines(events, handle)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)  # only left when writing failed
    return count


def _write_lines(events: Iterable[dict[str, Any] | str | WrittenLines], handle: TextIO) -> int:
    """Write the events' lines to an open text handle; return how many."""
    count = 0
    for event in events:
        if isinstance(event, WrittenLines):
            handle.flush()
            with event.path.open("rb") as part:
                shutil.copyfileobj(part, handle.buffer, 1 << 20)
            count += event.count
            continue
        handle.write(_line_of(event) + "\n")
        count += 1
    return count


def post(events: Iterable[dict[str, Any] | str], url: str, *, api_key: str | None = None,
         timeout: float = 30.0) -> int:
    """POST each event to an OpenLineage HTTP endpoint (e.g. ``http://marquez:5000/api/v1/lineage``)."""
    return sum(1 for _ in posting(events, url, api_key=api_key, timeout=timeout))


def check_endpoint(url: str) -> None:
    """Refuse a URL that is not http(s) with a host, before any event is built or any file written."""
    parts = urllib.parse.urlsplit(url.strip())
    try:
        host = parts.hostname
    except ValueError:  # a malformed port or bracket
        host = None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InvalidInputError(f"--url {url!r} is not an http:// or https:// URL with a host: give the endpoint, "
                                "e.g. http://marquez:5000/api/v1/lineage")


def check_namespace(namespace: str) -> None:
    """Refuse an empty namespace: every job and dataset would be exported in none."""
    if not namespace.strip():
        raise InvalidInputError("--namespace is empty: give one such as lineage://prod, "
                                "or leave the option out for lineage://<store>")


def posting(events: Iterable[dict[str, Any] | str], url: str, *, api_key: str | None = None,
            timeout: float = 30.0) -> Iterator[str]:
    """POST each event as it comes and pass its line on (so one export can be written and sent).

    The URL is checked now, not at the first event: a bad one then writes nothing.
    """
    check_endpoint(url)
    return _posting(events, url, api_key=api_key, timeout=timeout)


def _posting(events: Iterable[dict[str, Any] | str], url: str, *, api_key: str | None,
             timeout: float) -> Iterator[str]:
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    for count, event in enumerate(events):
        line = _line_of(event)
        request = urllib.request.Request(url, data=line.encode("utf-8"), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - user-given URL
                response.read()
        except OSError as exc:  # URLError and HTTPError are OSErrors
            raise LineageError(f"could not POST OpenLineage event {count + 1} to {url}: {exc}") from exc
        yield line


def _line_of(event: dict[str, Any] | str) -> str:
    return event if isinstance(event, str) else to_json_line(event)
