"""Reproducibility reports: complete JSON, escaped HTML, extractable PDF, signatures that catch any edit."""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from lineage.cli import main
from lineage.reports import build_report, render
from lineage.store import Store

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lineage.demo import load_demo

    folder = tmp_path_factory.mktemp("reports") / "home"
    with Store.init(folder) as store:
        load_demo(store)
        artifact = folder.parent / "model.bin"
        artifact.write_bytes(b"an untrusted artifact")
        store.models.register("hostile@1.0.0", artifact=artifact, inputs={"customers_clean@v1.0": "train"},
                              seed=7, params={"why": SCRIPT}, note=SCRIPT)
    return folder


@pytest.fixture
def run(home: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for name in ("LINEAGE_DB_URL", "LINEAGE_STORE_URL", "LINEAGE_READ_ONLY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LINEAGE_HOME", str(home))

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(main, list(args))

    return invoke


@pytest.fixture(scope="module")
def report(home: Path) -> dict:
    with Store.open(home) as store:
        return build_report(store, "churn@production")


def test_json_report_holds_linkage_trace_features_code_and_audit_head(report: dict, home: Path) -> None:
    assert set(report["linkage_record"]) == {"model_version", "data_snapshot_id", "data_hash", "feature_set_version"}
    assert report["linkage_record"]["model_version"] == "1.2.0"
    assert report["model"]["ref"] == "churn@1.2.0"
    nodes = {n["ref"]: n for n in report["trace"]["nodes"]}
    assert nodes["customers_clean@v1.0"]["sha256"] == report["linkage_record"]["data_hash"]
    assert "customers_raw@2026_02_01" in nodes and all(len(n["sha256"]) == 64 for n in nodes.values())
    fs = report["feature_set"]
    assert fs["ref"] == "customer_features@2.1.0" and fs["schema"]["features"]
    assert all(f["code_hash"].startswith("sha256:") for f in fs["features"])
    assert report["code"]["entrypoint"] and report["seed"] == 2010 and report["params"]
    assert report["environment"]["packages"]
    assert report["reproduce"] is None or report["reproduce"]["verdict"]
    assert report["drift"]["current"] == "customer_features_online@2026_03" and report["drift"]["features"]
    assert [m["action"] for m in report["aliases"]["history"]] == ["promote", "promote", "rollback", "promote"]
    with Store.open(home) as store:
        assert report["audit"]["head_hash"] == store.audit.verify_chain().head_hash


def test_every_stored_file_has_a_sha256sum_command_that_passes(report: dict) -> None:
    commands = [c for n in report["trace"]["nodes"] if n["kind"] != "feature_set_version" for c in n["check_commands"]]
    assert all(n["check_commands"] for n in report["trace"]["nodes"] if n["kind"] != "feature_set_version")
    for command in commands:
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True)
        assert done.returncode == 0 and ": OK" in done.stdout, (command, done.stdout, done.stderr)


def test_reproduce_verdict_appears_with_its_time_after_a_run(home: Path) -> None:
    with Store.open(home) as store:
        store.models.reproduce("churn@1.1.0")
        again = build_report(store, "churn@1.1.0")
    assert again["reproduce"]["verdict"] and again["reproduce"]["at"].endswith("Z")


def test_markdown_has_sections_and_embedded_json(report: dict) -> None:
    text = render(report, "md").decode()
    for heading in ("## Linkage record", "## Trace", "## Feature set", "## Reproduce verdict", "## Alias history"):
        assert heading in text
    assert report["linkage_record"]["data_hash"] in text and "sha256sum -c" in text


def test_html_escapes_user_text_everywhere(home: Path) -> None:
    with Store.open(home) as store:
        hostile = build_report(store, "hostile@1.0.0")
    page = render(hostile, "html").decode()
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script") == 1  # only the non-executed JSON data block
    assert "<svg" in page or hostile["drift"] is None
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_html_embeds_a_drift_chart(report: dict) -> None:
    assert "<svg" in render(report, "html").decode()


def test_pdf_text_names_the_model_and_data_hash(report: dict) -> None:
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(render(report, "pdf"))).pages)
    assert "churn@1.2.0" in text and report["linkage_record"]["data_hash"] in text


def test_keys_init_writes_a_private_key_readable_only_by_its_owner_and_refuses_to_overwrite(run, home: Path) -> None:
    result = run("keys", "init")
    assert result.exit_code == 0, result.output
    private = home / "keys" / "report_ed25519"
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600 and (home / "keys" / "report_ed25519.pub").exists()
    before = private.read_bytes()
    refused = run("keys", "init")
    assert refused.exit_code == 2 and "--force" in refused.output and private.read_bytes() == before


def _flip_content_byte(data: bytes, needle: bytes) -> bytes:
    at = data.index(needle) + len(needle) - 1
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


@pytest.mark.parametrize("fmt", ["json", "md", "html", "pdf"])
def test_signed_report_verifies_and_any_edit_fails(run, home: Path, tmp_path: Path, fmt: str) -> None:
    if not (home / "keys" / "report_ed25519").exists():
        assert run("keys", "init").exit_code == 0
    out = tmp_path / f"report.{fmt}"
    made = run("report", "churn@1.2.0", "--format", fmt, "-o", str(out))
    assert made.exit_code == 0, made.output
    assert "signed" in made.output and "UNSIGNED" not in made.output
    ok = run("report", "verify", str(out))
    assert ok.exit_code == 0, ok.output
    data = out.read_bytes()
    needle = b"/Title" if fmt == "pdf" else b"churn@1.2.0"  # PDF: the document title, outside the JSON
    out.write_bytes(_flip_content_byte(data, needle))
    edited = run("report", "verify", str(out))
    assert edited.exit_code == 1 and "does not match" in edited.output, edited.output
    out.write_bytes(data)
    assert run("report", "verify", str(out)).exit_code == 0


def test_json_edit_names_content_mismatch(run, home: Path, tmp_path: Path) -> None:
    if not (home / "keys" / "report_ed25519").exists():
        assert run("keys", "init").exit_code == 0
    out = tmp_path / "r.json"
    assert run("report", "churn@1.2.0", "--format", "json", "-o", str(out)).exit_code == 0
    doc = json.loads(out.read_text())
    doc["seed"] = 2011
    out.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    result = run("report", "verify", str(out), "--json")
    assert result.exit_code == 1 and "content does not match its signature" in result.output


def _signed_report(run, home: Path, out: Path, fmt: str) -> Path:
    """A report of churn@1.2.0 in ``fmt`` at ``out``, signed by the store's key (made when missing)."""
    if not (home / "keys" / "report_ed25519").exists():
        assert run("keys", "init").exit_code == 0
    assert run("report", "churn@1.2.0", "--format", fmt, "-o", str(out)).exit_code == 0
    return out


def test_verify_with_a_different_key_fails(run, home: Path, tmp_path: Path) -> None:
    out = _signed_report(run, home, tmp_path / "r.html", "html")
    old_pub = tmp_path / "old.pub"
    old_pub.write_bytes((home / "keys" / "report_ed25519.pub").read_bytes())
    assert run("keys", "init", "--force").exit_code == 0
    result = run("report", "verify", str(out))
    assert result.exit_code == 1 and "signature does not match the key" in result.output
    assert run("report", "verify", str(out), "--key", str(old_pub)).exit_code == 0


def test_unsigned_report_says_so_and_unreadable_input_exits_2(run, tmp_path: Path) -> None:
    out = tmp_path / "r.md"
    made = run("report", "churn@1.2.0", "--format", "md", "-o", str(out), "--unsigned")
    assert made.exit_code == 0 and "UNSIGNED" in made.output
    assert run("report", "verify", str(out)).exit_code == 1
    junk = tmp_path / "junk.txt"
    junk.write_text("hello")
    assert run("report", "verify", str(junk)).exit_code == 2
    assert run("report", "verify", str(tmp_path / "missing.pdf")).exit_code == 2


def _forged_copy(source: Path, target: Path) -> str:
    """``source`` with its seed and AUC edited, re-signed with a fresh key; returns that key's fingerprint."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from lineage.reports.signing import fingerprint, sign

    doc = json.loads(source.read_text())
    doc["seed"] = 1
    doc["model"]["metrics"]["auc"] = 0.999
    forger = Ed25519PrivateKey.generate()
    target.write_bytes(render(sign(doc, forger), "json"))
    return fingerprint(forger.public_key())


def test_a_report_re_signed_with_another_key_is_never_ok(run, home: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if not (home / "keys" / "report_ed25519").exists():
        assert run("keys", "init").exit_code == 0
    genuine, forged = tmp_path / "genuine.json", tmp_path / "forged.json"
    assert run("report", "churn@1.2.0", "--format", "json", "-o", str(genuine)).exit_code == 0
    forger = _forged_copy(genuine, forged)

    with_store = run("report", "verify", str(forged))
    assert with_store.exit_code == 1 and "signature does not match the key" in with_store.output
    assert forger in with_store.output and "OK" not in with_store.output

    store_pub = tmp_path / "store.pub"
    store_pub.write_bytes((home / "keys" / "report_ed25519.pub").read_bytes())
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "no-such-store"))
    for report_file in (forged, genuine):  # without a trusted key, not even the genuine one is OK
        alone = run("report", "verify", str(report_file))
        assert alone.exit_code == 2 and alone.stdout == "", alone.output
        message = alone.stderr.strip()
        assert message.count("\n") == 0 and message.startswith("error: no trusted key") and "--key" in message
    assert forger in run("report", "verify", str(forged)).stderr
    given = run("report", "verify", str(forged), "--key", str(store_pub))
    assert given.exit_code == 1 and "signature does not match the key" in given.output
    assert run("report", "verify", str(genuine), "--key", str(store_pub)).exit_code == 0


def test_a_forged_report_claiming_the_store_key_fails_on_its_signature(run, home: Path, tmp_path: Path) -> None:
    if not (home / "keys" / "report_ed25519").exists():
        assert run("keys", "init").exit_code == 0
    genuine, forged = tmp_path / "genuine.json", tmp_path / "forged.json"
    assert run("report", "churn@1.2.0", "--format", "json", "-o", str(genuine)).exit_code == 0
    _forged_copy(genuine, forged)
    doc, real = json.loads(forged.read_text()), json.loads(genuine.read_text())
    doc["signature"]["public_key"] = real["signature"]["public_key"]  # names the store's key, signed by another
    doc["signature"]["public_key_fingerprint"] = real["signature"]["public_key_fingerprint"]
    forged.write_bytes(render(doc, "json"))
    result = run("report", "verify", str(forged))
    assert result.exit_code == 1 and "content does not match its signature" in result.output


def test_library_verification_without_a_trusted_key_refuses_a_signed_report(run, home: Path, tmp_path: Path) -> None:
    from lineage.reports.files import NoTrustedKeyError, verify_report_file

    out = _signed_report(run, home, tmp_path / "r.md", "md")
    with pytest.raises(NoTrustedKeyError, match="no trusted key"):
        verify_report_file(out, None)


@pytest.mark.parametrize("target", ["missing-folder/r.json", "a-folder", ""])
def test_report_to_an_unwritable_path_is_one_line_and_writes_nothing(run, tmp_path: Path, target: str) -> None:
    (tmp_path / "a-folder").mkdir()
    output = str(tmp_path / target) if target else ""
    before = sorted(tmp_path.rglob("*"))
    result = run("report", "churn@1.2.0", "--format", "json", "-o", output)
    assert result.exit_code == 2 and result.stdout == "", result.output
    message = result.stderr.strip()
    assert message.count("\n") == 0 and message.startswith("error: -o ") and "Traceback" not in result.output
    assert sorted(tmp_path.rglob("*")) == before


def test_verify_with_an_empty_key_path_is_refused(run, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert run("report", "churn@1.2.0", "--format", "json", "-o", str(out)).exit_code == 0
    result = run("report", "verify", str(out), "--key", "")
    assert result.exit_code == 2 and result.stderr.startswith("error: --key is empty") and result.stdout == ""


def test_keys_init_refuses_a_read_only_store_and_a_missing_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "store"
    Store.init(home).close()
    monkeypatch.setenv("LINEAGE_HOME", str(home))
    monkeypatch.setenv("LINEAGE_READ_ONLY", "1")
    read_only = CliRunner().invoke(main, ["keys", "init"])
    assert read_only.exit_code == 2 and "read-only" in read_only.stderr and not (home / "keys").exists()
    monkeypatch.delenv("LINEAGE_READ_ONLY")
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "typo"))
    missing = CliRunner().invoke(main, ["keys", "init"])
    assert missing.exit_code == 2 and "lineage init" in missing.stderr and not (tmp_path / "typo").exists()


def test_report_to_a_fifo_is_streamed_whole(run, tmp_path: Path) -> None:
    """`-o >(cmd)` hands over a pipe: the report goes into it, not into a temp file renamed over its name."""
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = run("report", "churn@1.2.0", "--format", "json", "-o", str(fifo))
    reader.join(5)  # a reader still finishing what the CLI wrote has already closed its end
    if reader.is_alive():  # the CLI never opened the pipe: let the reader see end of file
        with contextlib.suppress(OSError):  # ENXIO: the reader closed its end meanwhile
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    reader.join(10)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]
    assert json.loads(received[0])["model"]["ref"] == "churn@1.2.0"


def test_report_to_dev_stdout_writes_into_the_descriptor_as_opened(home: Path, tmp_path: Path) -> None:
    """`-o /dev/stdout` feeds a pipe, and writes into the very file the shell opened (no rename over its name)."""
    import sys

    lineage = str(Path(sys.executable).with_name("lineage"))
    env = {**os.environ, "LINEAGE_HOME": str(home)}
    piped = subprocess.run([lineage, "report", "churn@1.2.0", "--format", "json", "-o", "/dev/stdout"],
                           capture_output=True, env=env)
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["model"]["ref"] == "churn@1.2.0"
    log = tmp_path / "out.json"
    with log.open("wb") as redirected:  # `lineage report ... -o /dev/stdout > out.json`
        inode = os.fstat(redirected.fileno()).st_ino
        done = subprocess.run([lineage, "report", "churn@1.2.0", "--format", "json", "-o", "/dev/stdout"],
                              stdout=redirected, stderr=subprocess.PIPE, env=env)
    assert done.returncode == 0, done.stderr
    assert log.stat().st_ino == inode and json.loads(log.read_bytes())["model"]["ref"] == "churn@1.2.0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_report_through_a_symlink_updates_its_target_and_keeps_the_link(run, tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "target.json"
    target.write_text("stale", encoding="utf-8")
    link = tmp_path / "latest.json"
    link.symlink_to(Path("reports") / "target.json")
    result = run("report", "churn@1.2.0", "--format", "json", "-o", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(Path("reports") / "target.json")
    assert json.loads(target.read_text(encoding="utf-8"))["model"]["ref"] == "churn@1.2.0"
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["target.json"]  # no temp left

    dangling = tmp_path / "next.json"
    dangling.symlink_to(Path("reports") / "new.json")
    assert run("report", "churn@1.2.0", "--format", "md", "-o", str(dangling)).exit_code == 0
    assert dangling.is_symlink() and "churn@1.2.0" in (tmp_path / "reports" / "new.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["dangling-into-missing-folder", "loop"])
def test_report_through_an_unusable_symlink_is_one_line_and_writes_nothing(run, tmp_path: Path, kind: str) -> None:
    link = tmp_path / "out.json"
    if kind == "loop":
        (tmp_path / "other.json").symlink_to(link)
        link.symlink_to(tmp_path / "other.json")
    else:
        link.symlink_to(tmp_path / "missing" / "r.json")
    before = sorted(tmp_path.rglob("*"))
    result = run("report", "churn@1.2.0", "--format", "json", "-o", str(link))
    assert result.exit_code == 2 and result.stdout == "", result.output
    message = result.stderr.strip()
    assert message.count("\n") == 0 and message.startswith("error: -o ") and "Traceback" not in result.output
    assert sorted(tmp_path.rglob("*")) == before and link.is_symlink()


def _init_keys_when_released(home: str, barrier, results) -> None:  # type: ignore[no-untyped-def]
    from lineage.errors import LineageError
    from lineage.reports.signing import init_keys

    barrier.wait()
    try:
        results.put(("made", init_keys(Path(home))[1]))
    except LineageError as exc:
        results.put(("refused", str(exc)))
    except Exception as exc:  # noqa: BLE001 - what the test must never see
        results.put(("crashed", repr(exc)))


def test_keys_init_racing_itself_makes_one_matching_pair(tmp_path: Path) -> None:
    """Both processes found no key and both wrote: the private key of one sat next to the other's .pub."""
    import multiprocessing

    from lineage.reports.signing import fingerprint, key_paths, load_private_key, load_public_key

    context = multiprocessing.get_context("fork")
    for attempt in range(8):
        home = tmp_path / f"home{attempt}"
        home.mkdir()
        barrier, results = context.Barrier(3), context.Queue()
        racers = [context.Process(target=_init_keys_when_released, args=(str(home), barrier, results))
                  for _ in range(3)]
        for racer in racers:
            racer.start()
        outcomes = sorted(results.get(timeout=60) for _ in racers)
        for racer in racers:
            racer.join(timeout=60)
        assert [kind for kind, _ in outcomes] == ["made", "refused", "refused"], outcomes
        private, public = key_paths(home)
        assert fingerprint(load_private_key(private).public_key()) == fingerprint(load_public_key(public))
        assert fingerprint(load_public_key(public)) == outcomes[0][1]
        assert sorted(p.name for p in (home / "keys").iterdir() if not p.name.startswith(".lock")) == [
            "report_ed25519", "report_ed25519.pub"]
