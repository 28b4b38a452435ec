"""Opening the object store's fsspec filesystem, and naming it when it cannot be reached.

A team store keeps its blobs in a bucket (``s3://bucket/prefix``). Endpoint, region
and credentials come from where every S3 tool looks (``AWS_ENDPOINT_URL``,
``AWS_DEFAULT_REGION``, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``,
``~/.aws/``), read by botocore itself; ``LINEAGE_STORE_OPTIONS`` adds fsspec storage
options for anything else. A wrong endpoint, missing bucket or refused credentials
must read as one line naming the object store (not the database) and its URL with any
secret hidden, so the bucket is probed once when the filesystem is first opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lineage.errors import InvalidInputError, LineageError, StoreUnavailableError

BUCKET_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az"})
"""Object stores whose first path component is a bucket (or container) that must exist."""

EPHEMERAL_PROTOCOLS = frozenset({"memory"})
"""Filesystems whose bytes die with the process: a store there would leave rows without their bytes."""

S3_PART_MIN = 5 * 2**20
S3_PART_MAX = 5 * 2**30
"""The part sizes S3 accepts for a multipart upload (``default_block_size`` must lie between them)."""

OPTION_ERRORS = (TypeError, AttributeError, ValueError, KeyError)
"""What a filesystem or its client raises for storage options of the wrong name or type."""

_SECRET_WORDS = ("secret", "password", "token", "key", "signature", "credential")
_CLOUD_ENV_PREFIXES = ("AWS_", "GOOGLE_", "AZURE_", "FSSPEC_")
_FILESYSTEMS: dict[str, tuple[Any, str]] = {}
_REMOTE_LIBRARIES = frozenset({"botocore", "aiobotocore", "aiohttp", "s3fs", "gcsfs", "google", "adlfs", "azure"})


def redact_url(url: str) -> str:
    """``url`` safe to print: a password in it and secret-looking query values become ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if any(w in k.lower() for w in _SECRET_WORDS) else v) for k, v in pairs],
                          safe="*")
    shown = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    if "://" in url and "://" not in shown:  # ``s3://`` has an empty netloc, which urlunsplit drops
        shown = f"{parts.scheme}://{shown.split(':', 1)[1]}"
    return shown


def normalise_url(url: str) -> str:
    """A remote store URL with repeated slashes and ``.`` segments collapsed in its path.

    Why: in a bucket ``s3://b//objects`` and ``s3://b/./objects`` are other keys than
    ``s3://b/objects``, so one store spelled two ways would split into two key spaces.
    Local paths (the OS already treats them alike) and chained URLs are left as given;
    ``..`` is kept here and refused by ``connect`` (a bucket has no parent folders).
    """
    protocol = protocol_of(url)
    if protocol in ("file", "local") or "::" in url:
        return url
    head, path = url.split("://", 1)
    tail = ""
    for mark in ("?", "#"):
        if mark in path:
            path, rest = path.split(mark, 1)
            tail = f"{mark}{rest}{tail}"
            break
    segments = [segment for segment in path.split("/") if segment not in ("", ".")]
    return f"{head}://{'/'.join(segments)}{tail}"


def protocol_of(url: str) -> str:
    """The fsspec protocol a URL names (``file`` for a plain path)."""
    head = url.split("::", 1)[0]
    return head.split("://", 1)[0].lower() if "://" in head else "file"


def connect(url: str, options: dict[str, Any]) -> tuple[Any, str]:
    """The filesystem and root path for ``url``; StoreUnavailableError when it cannot be used.

    Listing caches are off for buckets: other writers (and ``lineage gc``) change the
    bucket behind this process's back, and a stale listing must never answer "this
    blob exists" for one that does not.
    """
    import fsspec

    check_url(url)
    protocol = protocol_of(url)
    given = options
    if protocol in BUCKET_PROTOCOLS:
        _check_block_size(url, given)
        options = {"use_listings_cache": False, **options}
    try:
        if protocol in BUCKET_PROTOCOLS:
            fs, root = _cached_filesystem(url, options)
        else:
            fs, root = fsspec.core.url_to_fs(url, **options)
    except OPTION_ERRORS as exc:
        if given:
            raise options_error(url, given, exc) from None
        raise _unopenable(url, exc) from None
    except (ImportError, OSError) as exc:
        raise _unopenable(url, exc) from None
    root = root.rstrip("/")
    if protocol in BUCKET_PROTOCOLS:
        try:
            _probe_bucket(url, fs, root)
        except OPTION_ERRORS as exc:
            if not given:
                raise
            raise options_error(url, given, exc) from None
    return fs, root


def _unopenable(url: str, exc: BaseException) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"cannot open the object store {redact_url(url)} ({_first_line(exc)}): "
        "check LINEAGE_STORE_URL and LINEAGE_STORE_OPTIONS"
    )


def check_url(url: str) -> None:
    """Refuse, with one line, a store URL whose bytes would not outlive the process or whose path climbs.

    Why: ``memory://`` accepts writes and forgets them at exit, leaving snapshot rows
    without bytes; ``..`` in a bucket path names a literal ``..`` key, not a parent.
    """
    for link in url.split("::"):
        protocol = protocol_of(link)
        if protocol in EPHEMERAL_PROTOCOLS:
            raise InvalidInputError(
                f"the object store {redact_url(url)} keeps its bytes in this process's memory only: they would "
                "be gone when it exits, leaving records without their bytes; set LINEAGE_STORE_URL to a folder "
                "or to s3://BUCKET/PREFIX"
            )
    if protocol_of(url) not in ("file", "local") and "::" not in url and ".." in url.split("://", 1)[1].split("/"):
        raise InvalidInputError(
            f"the object store URL {redact_url(url)} has a '..' segment, which a bucket does not resolve: "
            "write the prefix without it in LINEAGE_STORE_URL"
        )


def _check_block_size(url: str, options: dict[str, Any]) -> None:
    """``default_block_size`` must be a whole number of bytes S3 accepts as a part size.

    Why: s3fs checks it only when the first large file is uploaded, after the data was read.
    """
    if "default_block_size" not in options or options["default_block_size"] is None:
        return
    size = options["default_block_size"]
    if isinstance(size, bool) or not isinstance(size, int) or not S3_PART_MIN <= size <= S3_PART_MAX:
        raise options_error(url, options, ValueError(
            f"default_block_size must be a whole number of bytes from {S3_PART_MIN} (5 MiB) to {S3_PART_MAX} (5 GiB), "
            f"not {json.dumps(size)}"))


def options_error(url: str, options: dict[str, Any], exc: BaseException) -> InvalidInputError:
    """The one line for storage options the filesystem refused (their secret-looking values hidden)."""
    return InvalidInputError(
        f"cannot open the object store {redact_url(url)} with LINEAGE_STORE_OPTIONS "
        f"{json.dumps(_redacted_options(options), sort_keys=True, default=str)}: {_first_line(exc)}; "
        "fix or unset LINEAGE_STORE_OPTIONS"
    )


def _redacted_options(value: Any) -> Any:
    """Storage options safe to print: values under secret-looking keys become ``***``."""
    if isinstance(value, dict):
        return {key: "***" if any(w in str(key).lower() for w in _SECRET_WORDS) else _redacted_options(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted_options(item) for item in value]
    return value


def _cached_filesystem(url: str, options: dict[str, Any]) -> tuple[Any, str]:
    """One bucket filesystem per URL, options and cloud environment in this process.

    fsspec's own instance cache keys on the options only, so a filesystem made for one
    endpoint or key would answer for another after the environment changed (a test, a
    long-running dashboard). Creating a client costs a few hundred ms, so it is not
    redone for every store opened with the same settings either.
    """
    import fsspec

    environment = [(name, value) for name, value in sorted(os.environ.items()) if name.startswith(_CLOUD_ENV_PREFIXES)]
    key = hashlib.sha256(json.dumps([url, options, environment, os.getpid()], sort_keys=True, default=str)
                         .encode()).hexdigest()  # hashed: the environment holds secrets
    cached = _FILESYSTEMS.get(key)
    if cached is None:
        cached = fsspec.core.url_to_fs(url, skip_instance_cache=True, **options)
        _FILESYSTEMS[key] = cached
    return cached


def _probe_bucket(url: str, fs: Any, root: str) -> None:
    """Fail now, naming the object store, if its bucket is missing or out of reach."""
    bucket = root.split("/", 1)[0]
    if not bucket:
        raise StoreUnavailableError(
            f"the object store URL {redact_url(url)} names no bucket: use s3://BUCKET/PREFIX in LINEAGE_STORE_URL"
        )
    with reaching(url, fs):
        try:
            if hasattr(fs, "call_s3"):  # s3fs: HEAD the bucket; it lists nothing and tells missing from refused
                fs.call_s3("head_bucket", Bucket=bucket)
            elif not fs.exists(bucket):
                raise FileNotFoundError(bucket)
        except FileNotFoundError:
            raise StoreUnavailableError(
                f"the object store {redact_url(url)} has no bucket '{bucket}' at {endpoint_of(fs)}: "
                "create the bucket, or fix LINEAGE_STORE_URL or the endpoint (AWS_ENDPOINT_URL)"
            ) from None


def endpoint_of(fs: Any) -> str:
    """Where a filesystem sends its requests, for error messages."""
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    endpoint = getattr(fs, "endpoint_url", None) or (getattr(fs, "client_kwargs", None) or {}).get("endpoint_url")
    if not endpoint and "s3" in protocols:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if not endpoint:
            return "the AWS endpoint"
    return f"endpoint {redact_url(endpoint)}" if endpoint else f"{protocols[0]} storage"


def is_storage_failure(exc: BaseException) -> bool:
    """An error raised while talking to storage: an OSError, or one of the cloud client libraries'."""
    if isinstance(exc, OSError):
        return True
    return any(cls.__module__.split(".", 1)[0] in _REMOTE_LIBRARIES for cls in type(exc).__mro__)


@contextlib.contextmanager
def reaching(url: str, fs: Any) -> Iterator[None]:
    """Turn a failure to talk to the object store into StoreUnavailableError naming it.

    A missing key (FileNotFoundError) passes through: callers decide what a missing
    blob means. So do the product's own errors and anything that is not a storage failure.
    """
    try:
        yield
    except (LineageError, FileNotFoundError, FileExistsError):
        raise
    except Exception as exc:
        if not is_storage_failure(exc):
            raise
        raise StoreUnavailableError(
            f"cannot use the object store {redact_url(url)} at {endpoint_of(fs)} ({_first_line(exc)}): "
            "check LINEAGE_STORE_URL, that the endpoint is up and the credentials (AWS_ACCESS_KEY_ID, "
            "AWS_PROFILE) may read and write the bucket"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
