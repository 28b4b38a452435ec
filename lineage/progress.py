"""How long operations report progress without knowing who is watching.

The CLI draws a terminal bar, the dashboard an ``st.progress``; the library only
calls these three methods. ``NO_PROGRESS`` is the silent default (and --json).
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, total: int, label: str) -> None:
        """Work of ``total`` units (bytes) begins."""

    def advance(self, amount: int) -> None:
        """``amount`` more units are done (may be called from a worker thread)."""

    def finish(self) -> None:
        """The work ended (successfully or not)."""


class _NoProgress:
    def start(self, total: int, label: str) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def finish(self) -> None:
        pass


NO_PROGRESS: Progress = _NoProgress()
