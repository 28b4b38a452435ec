"""Human-readable forms shared by the CLI tables and the dashboard (no heavy imports)."""

from __future__ import annotations


def human_size(size: int) -> str:
    """Bytes in binary units, as `ls -h` users read them (1.5 KiB, 3.2 GiB)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def short_hash(digest: str, length: int = 12) -> str:
    """The prefix shown in tables; still a valid ref (8+ hex characters)."""
    return digest[:length]
