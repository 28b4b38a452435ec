"""Load NumPy without its AVX-512 sort on AMD Zen 4, where that sort is about 4x slower.

Drift sorts every numeric column once (``lineage.drift``), so NumPy's sort sets the pace.
On Zen 4 (AMD family 0x19 with AVX-512), x86-simd-sort's AVX-512 partition step stores with
``vpcompress*`` to memory, which that core runs in microcode (over 100 cycles each; see
numpy/x86-simd-sort#6 and numpy/numpy#32690). On this project's 2-core EPYC, ``np.sort`` of
float64 takes ~84 ms per million values on that path and ~22 ms on the AVX2 path of the same
wheel. NumPy picks its SIMD targets once, when it is first imported, from
``NPY_DISABLE_CPU_FEATURES``; so this module sets that variable, imports NumPy, and puts the
environment back at once, so that no child process (a training run started by
``lineage reproduce --rerun``, say) inherits a changed environment.

It does nothing when NumPy is already imported, on any other CPU (Zen 5 fixed the
instruction; Intel's AVX-512 sort is its fastest), when the user has set either of NumPy's
variables (``NPY_DISABLE_CPU_FEATURES=`` keeps every feature), or before NumPy 2.4, whose
feature names differ (an unknown name only raises a hidden ImportWarning and changes nothing).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from functools import lru_cache

ZEN4_SLOW_FEATURES = "X86_V4 AVX512_ICL AVX512_SPR"
"""NumPy 2.4's names for its AVX-512 targets; without them it dispatches to AVX2."""
NAMES_SINCE = (2, 4)
"""The first NumPy release that knows those names (earlier ones call the targets AVX512_SKX, ...)."""
_USER_VARIABLES = ("NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES")


def import_numpy_for_this_cpu() -> bool:
    """Import NumPy now, without AVX-512 when this CPU is a Zen 4; True when that applied."""
    if "numpy" in sys.modules or any(name in os.environ for name in _USER_VARIABLES):
        return False
    if not is_zen4() or not knows_feature_names(_installed_numpy()):
        return False
    os.environ["NPY_DISABLE_CPU_FEATURES"] = ZEN4_SLOW_FEATURES
    try:
        import numpy  # noqa: F401  (the import is the point: the dispatch is fixed here)
    finally:
        os.environ.pop("NPY_DISABLE_CPU_FEATURES", None)
    return True


def knows_feature_names(version: str | None) -> bool:
    """Whether this NumPy version (``metadata.version`` text) takes ``ZEN4_SLOW_FEATURES``."""
    if version is None:
        return False
    parts = version.split(".")
    try:
        return (int(parts[0]), int(parts[1])) >= NAMES_SINCE
    except (IndexError, ValueError):
        return False


def _installed_numpy() -> str | None:
    from importlib import metadata  # ~15 ms: only the commands that compute with NumPy pay for it

    try:
        return metadata.version("numpy")  # read from the dist-info, without importing NumPy
    except metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def is_zen4() -> bool:
    """AMD family 25 (0x19) with AVX-512: Zen 4. Zen 3 shares the family but has no AVX-512."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            first_cpu = _first_block(cpuinfo)
    except OSError:  # not Linux, or no procfs: leave NumPy as it is
        return False
    return zen4_cpuinfo(first_cpu)


def zen4_cpuinfo(fields: dict[str, str]) -> bool:
    """The test on one processor's ``/proc/cpuinfo`` fields (separate, so tests can feed other CPUs)."""
    return (fields.get("vendor_id") == "AuthenticAMD" and fields.get("cpu family") == "25"
            and "avx512f" in fields.get("flags", "").split())


def _first_block(lines: Iterable[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in lines:
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields
