"""Asymptotic KS p-values computed by a helper process while the workers measure the columns.

Why a process: the KS p-value SciPy's ``ks_2samp`` returns on large samples is
``scipy.stats.kstwo.sf``, and on a 1M-row comparison it costs about as much as all the
other statistics together, none of it in parallel with them:

- importing ``scipy.stats`` (nothing else in a comparison needs it) takes about a second of
  interpreter time, holding the GIL the worker threads need between their NumPy calls;
- ``kstwo.sf`` of a moderate drift (``n·D²`` between 2.2 and 370) is Smirnov's exact sum in
  double-double arithmetic, 0.2 s per feature at n = 166,667, also with the GIL held.

Measured on the drift benchmark (docs/benchmarks.md, section 6), those two cost ~1 s of a
2.3 s comparison. A helper interpreter runs both on the other core instead: the same SciPy
call on the same numbers (sent as exact ``float.hex``), so the p-values keep every digit.
The helper is only worth its start-up on large inputs in a process that has not imported
``scipy.stats`` yet; anything that goes wrong with it falls back to computing in-process.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable

HELPER_MIN_ROWS = 250_000
"""Reference plus current rows from which the helper pays: below, a whole comparison takes less than SciPy's import."""

_HELPER_CODE = """
import sys
import numpy, scipy
from scipy.stats import kstwo
sys.stdout.write(numpy.__version__ + " " + scipy.__version__ + "\\n")
for line in sys.stdin:
    d, n = (float.fromhex(x) for x in line.split())
    sys.stdout.write(float(kstwo.sf(d, n)).hex() + "\\n")
"""
_STREAMED_MAX = 64
"""Pairs written as they come: ~3 KB, within the smallest pipe buffer (4 KiB) while the helper still imports
and before anyone reads its answers. The rest go at ``collect``, which reads and writes at once."""
_WAIT_S = 60.0
"""How long collecting may wait for the helper (its import plus one Smirnov sum per feature) before falling back."""


def helper_pays(total_rows: int) -> bool:
    """Whether to start the helper: big inputs, scipy.stats not already loaded here (then it is free),
    and a Python interpreter to start (not a frozen or embedding program that only hosts one)."""
    return (total_rows >= HELPER_MIN_ROWS and "scipy.stats" not in sys.modules and _python() is not None)


def _python() -> str | None:
    executable = sys.executable
    if not executable or getattr(sys, "frozen", False) or not os.path.isfile(executable):
        return None
    return executable


class KsHelper:
    """``kstwo.sf(d, n)`` for each submitted pair, in submission order, from a helper interpreter.

    ``submit`` queues a pair (the helper starts on it at once), ``collect`` returns every
    result, and ``close`` always reaps the process. When the helper cannot start, dies or
    answers nonsense, ``collect`` computes the pairs with ``fallback`` instead.
    """

    def __init__(self, fallback: Callable[[float, float], float]) -> None:
        self._fallback = fallback
        self._pairs: list[tuple[float, float]] = []
        self._process: subprocess.Popen[str] | None = None
        python = _python()
        if python is None:
            return
        try:
            # -P: nothing from the working directory (a stray scipy.py) shadows the installed SciPy
            self._process = subprocess.Popen(
                [python, "-P", "-c", _HELPER_CODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True,
            )
        except (OSError, ValueError, TypeError):
            self._process = None

    def submit(self, statistic: float, n: float) -> None:
        self._pairs.append((statistic, n))
        if len(self._pairs) > _STREAMED_MAX or self._process is None or self._process.stdin is None:
            return
        try:
            self._process.stdin.write(_line(statistic, n))
            self._process.stdin.flush()
        except (OSError, ValueError):
            self.close()

    def collect(self) -> list[float]:
        """Every submitted pair's ``kstwo.sf``, in order (computed here if the helper failed)."""
        answers: list[float] = []
        process = self._process
        if process is not None:
            try:
                rest = "".join(_line(d, n) for d, n in self._pairs[_STREAMED_MAX:])
                output, _ = process.communicate(rest or None, timeout=_WAIT_S)
                versions, *lines = output.split("\n")[:-1] or [""]
                if versions == _versions_here():  # the same NumPy and SciPy, hence the same digits
                    answers = [float.fromhex(line) for line in lines]
            except (OSError, ValueError, subprocess.TimeoutExpired):
                answers = []
            finally:
                self.close()
        if len(answers) != len(self._pairs):
            answers = [self._fallback(d, n) for d, n in self._pairs]
        return answers

    def close(self) -> None:
        """Stop and reap the helper (idempotent); results not yet collected are then computed here."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # a broken pipe to a killed helper
                    stream.close()


def _line(statistic: float, n: float) -> str:
    return f"{float(statistic).hex()} {float(n).hex()}\n"


def _versions_here() -> str:
    import numpy
    import scipy

    return f"{numpy.__version__} {scipy.__version__}"
