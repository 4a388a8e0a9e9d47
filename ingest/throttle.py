"""Slowing down repeated wrong API keys from one client address.

After `free_failures` wrong keys within `window_s`, every further 401 to that address
is delayed, doubling from `first_delay_s` up to `max_delay_s`. A correct key resets
the address. The delay holds only the attacker's own request, never the writer.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable


@dataclasses.dataclass
class _Failures:
    count: int
    last_s: float


class FailedKeyThrottle:
    """Counts wrong keys per client address and returns how long to delay the 401."""

    def __init__(
        self,
        free_failures: int = 5,
        first_delay_s: float = 0.1,
        max_delay_s: float = 2.0,
        window_s: float = 300.0,
        max_addresses: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free_failures = free_failures
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.window_s = window_s
        self.max_addresses = max_addresses
        self._monotonic = monotonic
        self._failures: dict[str, _Failures] = {}

    def record_failure(self, address: str) -> tuple[int, float]:
        """Count one wrong key from `address`; return (failures in the window, delay in seconds)."""
        now = self._monotonic()
        entry = self._failures.get(address)
        if entry is None or now - entry.last_s > self.window_s:
            self._forget_stale(now)
            entry = _Failures(count=0, last_s=now)
            self._failures[address] = entry
        entry.count += 1
        entry.last_s = now

        excess = entry.count - self.free_failures
        if excess <= 0:
            return entry.count, 0.0
        delay = self.first_delay_s * 2 ** min(excess - 1, 20)
        return entry.count, min(delay, self.max_delay_s)

    def record_success(self, address: str) -> None:
        """Forget the failures of an address that sent a correct key."""
        self._failures.pop(address, None)

    def _forget_stale(self, now: float) -> None:
        if len(self._failures) < self.max_addresses:
            return
        for address in [a for a, f in self._failures.items() if now - f.last_s > self.window_s]:
            del self._failures[address]
        # NOTE: a flood from more than max_addresses live addresses drops the oldest
        # counts, so a very wide attack is slowed less.
        while len(self._failures) >= self.max_addresses:
            del self._failures[next(iter(self._failures))]
