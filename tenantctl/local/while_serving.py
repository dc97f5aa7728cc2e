"""A moto method replaced by the local AWS's own while at least one local AWS server runs in the process."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Replacement:
    """`owner.name` is `replacement` while anyone is inside `installed()` (any number of servers at
    once); the last one out puts the original back."""

    def __init__(self, owner: type, name: str, replacement: Callable[..., Any]) -> None:
        self._owner = owner
        self._name = name
        self._replacement = replacement
        self._original = getattr(owner, name)
        self._lock = threading.Lock()
        self._users = 0

    @contextmanager
    def installed(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                setattr(self._owner, self._name, self._replacement)
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    setattr(self._owner, self._name, self._original)
