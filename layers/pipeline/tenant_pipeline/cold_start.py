"""A function's dependencies, built once per execution environment.

Every handler module declares `dependencies = ColdStart(Dependencies.from_env)`: the settings are read and
the clients built at the first invocation (never at import, so importing a handler costs no AWS set-up),
then kept for every later invocation of that environment. `reset()` makes the next invocation a cold start
again, as a new execution environment would be (tests, and the local runtime, start a new world with it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ColdStart(Generic[T]):
    """`build()`'s result, made on first use and shared by later calls until `reset()`."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._built: list[T] = []
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if not self._built:
                self._built.append(self._build())
            return self._built[0]

    def reset(self) -> None:
        with self._lock:
            self._built.clear()
