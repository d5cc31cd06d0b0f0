"""The Clock port: the system's wall clock, and a sleep that Ctrl-C interrupts at once."""

from __future__ import annotations

import time

_SLICE = 0.2


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + max(0.0, seconds)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(remaining, _SLICE))
