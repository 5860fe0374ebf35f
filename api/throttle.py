"""Login throttling: repeated failures back off, per username and per client address.

After `free` failures in a row a key is locked for `base` seconds, doubling with each further
failure up to `cap`; a locked key answers 429 with `Retry-After` before any password is hashed,
so guessing costs the guesser time and this server nothing. A success clears the username's
count. The counts live in this process: each API replica keeps its own (docs/security.md).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Failures:
    count: int
    locked_until: float


class Backoff:
    """Failures per key (a username, an address), with exponential lock-outs."""

    def __init__(
        self,
        *,
        free: int,
        base: float = 1.0,
        cap: float = 900.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.base, self.cap, self.max_keys = free, base, cap, max_keys
        self.clock = clock
        self._keys: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it may now."""
        with self._lock:
            failures = self._keys.get(key)
            if failures is None:
                return 0
            return max(0, math.ceil(failures.locked_until - self.clock()))

    def failed(self, key: str) -> None:
        with self._lock:
            failures = self._keys.pop(key, None) or _Failures(0, 0.0)
            failures.count += 1
            beyond = failures.count - self.free
            if beyond >= 0:
                failures.locked_until = self.clock() + min(self.cap, self.base * 2**beyond)
            self._keys[key] = failures  # most recent last
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)  # forget the key failed longest ago

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)


class LoginThrottle:
    """Per username (a few free failures) and per client address (more: an office shares one
    address behind its router)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.users = Backoff(free=5, clock=clock)
        self.addresses = Backoff(free=20, clock=clock)

    def retry_after(self, username: str, address: str) -> int:
        return max(self.users.retry_after(username.lower()), self.addresses.retry_after(address))

    def failed(self, username: str, address: str) -> None:
        self.users.failed(username.lower())
        self.addresses.failed(address)

    def succeeded(self, username: str) -> None:
        self.users.succeeded(username.lower())
