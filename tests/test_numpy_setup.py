"""NumPy loads without its AVX-512 sort on AMD Zen 4 only, and never changes the environment it leaves."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from lineage.numpy_setup import _first_block, import_numpy_for_this_cpu, knows_feature_names, zen4_cpuinfo

ZEN4 = {"vendor_id": "AuthenticAMD", "cpu family": "25", "model": "17", "flags": "fpu sse2 avx2 avx512f avx512bw"}


@pytest.mark.parametrize(("fields", "expected"), [
    (ZEN4, True),
    ({**ZEN4, "flags": "fpu sse2 avx2"}, False),  # Zen 3: same family, no AVX-512
    ({**ZEN4, "cpu family": "26"}, False),  # Zen 5 runs the compress-store at full speed
    ({**ZEN4, "vendor_id": "GenuineIntel", "cpu family": "6"}, False),  # Intel: AVX-512 sort is the fastest
    ({}, False),
])
def test_only_zen4_is_recognised(fields: dict[str, str], expected: bool) -> None:
    assert zen4_cpuinfo(fields) is expected


def test_the_first_processor_block_of_cpuinfo_is_parsed() -> None:
    text = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nflags\t\t: fpu avx512f\n\n"
            "processor\t: 1\nvendor_id\t: GenuineIntel\n")
    fields = _first_block(io.StringIO(text))
    assert fields["vendor_id"] == "AuthenticAMD" and fields["processor"] == "0" and zen4_cpuinfo(fields)


def test_nothing_happens_once_numpy_is_loaded() -> None:
    import numpy  # noqa: F401

    before = dict(os.environ)
    assert import_numpy_for_this_cpu() is False
    assert dict(os.environ) == before


@pytest.mark.parametrize(("version", "expected"), [
    ("2.4.6", True), ("2.5.0rc1", True), ("3.0.0", True), ("2.3.5", False), ("1.26.4", False), ("weird", False), (None, False),
])
def test_only_numpy_releases_that_know_the_feature_names_get_them(version: str | None, expected: bool) -> None:
    assert knows_feature_names(version) is expected


PROBE = """
import json, os, sys
import lineage.numpy_setup as setup
zen4 = sys.argv[1] == "zen4"
setup.is_zen4 = lambda: zen4  # behave as on a Zen 4 (or not) whatever this machine is
applied = setup.import_numpy_for_this_cpu()
from numpy._core._multiarray_umath import __cpu_features__ as features
print(json.dumps({"applied": applied, "numpy": "numpy" in sys.modules,
                  "left_in_env": "NPY_DISABLE_CPU_FEATURES" in os.environ, "x86_v4": features.get("X86_V4", False)}))
"""


def _probe(env: dict[str, str], cpu: str = "zen4") -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, cpu], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_on_zen4_numpy_loads_without_avx512_and_the_environment_is_put_back() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NPY_")}
    result = _probe(env)
    assert result == {"applied": True, "numpy": True, "left_in_env": False, "x86_v4": False}
    control = _probe(env, cpu="other")  # the same NumPy on the same machine, left alone
    assert control["applied"] is False and control["left_in_env"] is False
    if not control["x86_v4"]:
        pytest.skip("this CPU has no AVX-512: NumPy's dispatch looks the same either way (checked above)")


def test_a_user_setting_of_numpy_cpu_features_wins() -> None:
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": ""}  # "keep every feature"
    result = _probe(env)
    assert result["applied"] is False and result["left_in_env"] is True
