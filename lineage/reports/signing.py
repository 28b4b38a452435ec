"""Ed25519 signatures over a report's canonical JSON.

The signature covers ``canonical_json(report without "signature")``; the block carries
the algorithm, the sha256 fingerprint of the raw public key, the public key itself and the
signature. Verification needs a key the verifier trusts (the store's, or one passed in):
the key inside the report names the signer but proves nothing, since anyone can re-sign
an edited report with a fresh key and embed that one.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage.audit import canonical_json
from lineage.errors import InvalidInputError, NotFoundError, ReadOnlyError

ALGORITHM = "ed25519"
PRIVATE_NAME = "report_ed25519"
CONTENT_MISMATCH = "content does not match its signature"
KEY_MISMATCH = "signature does not match the key"


def key_paths(home: Path) -> tuple[Path, Path]:
    """``<home>/keys/report_ed25519`` and its ``.pub``."""
    folder = Path(home) / "keys"
    return folder / PRIVATE_NAME, folder / f"{PRIVATE_NAME}.pub"


def init_keys(home: Path, *, force: bool = False, read_only: bool = False) -> tuple[Path, str]:
    """Write a new key pair (private key mode 0600); refuse to replace one unless ``force``.

    Refused on a read-only store, and where no store folder exists: the keys belong to a
    store, so a mistyped LINEAGE_HOME must not quietly grow a folder holding only keys.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if read_only:
        raise ReadOnlyError("this store is read-only (LINEAGE_READ_ONLY is set): unset it to create a signing key")
    if not Path(home).is_dir():
        raise NotFoundError(f"no store at {home}: run `lineage init` first, or set LINEAGE_HOME to the store's folder")
    private_path, public_path = key_paths(home)
    private_path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(private_path.parent, 0o700)
    with _keys_lock(private_path.parent):  # two `keys init` at once: one makes the pair, the other is refused
        if private_path.exists() and not force:
            raise InvalidInputError(f"a report signing key already exists at {private_path} (fingerprint "
                                    f"{fingerprint(load_public_key(public_path))}): pass --force to replace it; "
                                    "reports signed with it will then only verify with --key pointing at its .pub")
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
        _write_atomic(private_path, pem, 0o600)
        _write_atomic(public_path, public_pem, 0o644)
    return private_path, fingerprint(key.public_key())


@contextlib.contextmanager
def _keys_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on the keys folder, so checking for a key and writing the pair is one step.

    Without it two processes both found no key, both wrote, and the private key of one could
    end up next to the public key of the other: every report it signed would fail to verify.
    """
    import fcntl

    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write to a private temp file in the same folder, then rename it over ``path`` (never half a key)."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def load_private_key(path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)


def load_public_key(path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read the public key {path}: {exc}: give a PEM Ed25519 public key") from exc


def raw_public(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_key: Any) -> str:
    """``sha256:<hex>`` of the raw 32-byte public key."""
    return "sha256:" + hashlib.sha256(raw_public(public_key)).hexdigest()


def signed_bytes(report: dict[str, Any]) -> bytes:
    """What the signature covers: the canonical JSON of the report without its signature block."""
    return canonical_json({k: v for k, v in report.items() if k != "signature"}).encode("utf-8")


def sign(report: dict[str, Any], private_key: Any) -> dict[str, Any]:
    """The report with a ``signature`` block added (any earlier block replaced)."""
    public_key = private_key.public_key()
    body = {k: v for k, v in report.items() if k != "signature"}
    return {**body, "signature": {
        "algorithm": ALGORITHM,
        "public_key_fingerprint": fingerprint(public_key),
        "public_key": base64.b64encode(raw_public(public_key)).decode("ascii"),
        "signature": base64.b64encode(private_key.sign(signed_bytes(body))).decode("ascii"),
    }}


@dataclass(frozen=True)
class SignatureCheck:
    ok: bool
    problem: str | None
    fingerprint: str | None
    trusted: str  # "store key" or "given key"

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "problem": self.problem, "public_key_fingerprint": self.fingerprint,
                "trusted_key": self.trusted}


def embedded_fingerprint(report: dict[str, Any]) -> str | None:
    """The fingerprint of the public key a signed report carries (what it claims signed it); None when
    the report is unsigned or its block holds no valid Ed25519 key.

    Shown so a verifier without a trusted key can compare it with the signer's, out of band.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    block = report.get("signature")
    if not isinstance(block, dict):
        return None
    try:
        raw = base64.b64decode(str(block.get("public_key", "")), validate=True)
        return fingerprint(Ed25519PublicKey.from_public_bytes(raw))
    except ValueError:  # a corrupt block: it names no key
        return None


def check_signature(report: dict[str, Any], trusted_key: Any, trusted: str) -> SignatureCheck:
    """Whether the report is signed by ``trusted_key`` over its current content.

    The key embedded in the report is never used to verify: anyone can re-sign an edited
    report with a fresh key and embed that key. It only names the signer, so a report whose
    embedded or claimed key is not the trusted one fails as a key mismatch.
    """
    from cryptography.exceptions import InvalidSignature

    block = report.get("signature")
    if not isinstance(block, dict):
        return SignatureCheck(False, "the report is not signed: make it again after `lineage keys init`", None, trusted)
    claimed = block.get("public_key_fingerprint")
    expected = fingerprint(trusted_key)
    if block.get("algorithm") != ALGORITHM:
        return SignatureCheck(False, f"{KEY_MISMATCH}: algorithm {block.get('algorithm')!r} is not {ALGORITHM}",
                              claimed, trusted)
    signer = embedded_fingerprint(report)
    if signer is None:
        return SignatureCheck(False, f"{CONTENT_MISMATCH}: the signature block is corrupt", claimed, trusted)
    for named in (signer, claimed):
        if named != expected:
            return SignatureCheck(False, f"{KEY_MISMATCH}: signed by {named}, but the {trusted} is {expected}",
                                  claimed, trusted)
    try:
        signature = base64.b64decode(str(block.get("signature", "")), validate=True)
    except ValueError:
        return SignatureCheck(False, f"{CONTENT_MISMATCH}: the signature block is corrupt", claimed, trusted)
    try:
        trusted_key.verify(signature, signed_bytes(report))
    except InvalidSignature:
        return SignatureCheck(False, f"{CONTENT_MISMATCH}: the report was changed after it was signed",
                              claimed, trusted)
    return SignatureCheck(True, None, claimed, trusted)
