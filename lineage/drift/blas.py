"""NumPy's BLAS on one thread while drift's workers run, safely for concurrent comparisons.

Why: ``np.dot`` over a million values (Wasserstein, with the digits of SciPy's ``vecdot``)
wakes OpenBLAS's threads, which then spin for their timeout on the very cores the worker
threads need: 0.5 s of CPU on the 1M-row benchmark (docs/benchmarks.md, section 6).

The limit is process-wide (threadpoolctl sets OpenBLAS's thread count), so overlapping
comparisons (two dashboard sessions) share it: the first one in sets it, the last one out
restores what was there before. Another thread of the host program running BLAS meanwhile
runs it on one thread for that time. One OpenBLAS quirk (0.3.31, seen here): once the main
thread has set and restored a limit, a limit set from another thread has no effect; such a
comparison then runs as it did before this module existed (slower, same verdicts, Wasserstein
equal to the last bit or two).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_users = 0
_limit: Any = None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread inside the block (nested and concurrent blocks share one limit)."""
    global _users, _limit
    with _lock:
        if _users == 0:
            from threadpoolctl import threadpool_limits

            _limit = threadpool_limits(limits=1, user_api="blas")
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                _limit.restore_original_limits()
                _limit = None
