"""How long this process has run: launch-to-first-window timing and the warm-up's log lines."""

from __future__ import annotations

import os
import time
from pathlib import Path


def seconds_since_process_start() -> float | None:
    """Wall time since this process was created (Linux /proc, else psutil if installed), or None."""
    try:  # /proc/self/stat field 22: start time in clock ticks after boot; /proc/uptime: now after boot
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil

        return time.time() - psutil.Process().create_time()
    except Exception:  # noqa: BLE001 - psutil missing or denied
        return None
