"""An order-independent checksum of a set of items.

Each item is hashed (SHA-256 of its canonical encoding) and the digests are added modulo 2**256.
Addition commutes, so the snapshot (read shard by shard) and the read-back of the target (read in
whatever order the table returns) agree whenever they hold the same items; any change to one field
changes that item's digest and so the sum. Unlike XOR, a duplicated item does not cancel out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tenant_pipeline.migration.item_codec import canonical_bytes

_MODULUS = 1 << 256
EMPTY_SUM = f"{0:064x}"
"""The checksum of no items."""


def item_digest(item: Mapping[str, Any]) -> int:
    return int.from_bytes(hashlib.sha256(canonical_bytes(item)).digest(), "big")


@dataclass
class ItemChecksum:
    """Running count and checksum of the items added so far."""

    count: int = 0
    _sum: int = field(default=0, repr=False)

    @classmethod
    def resume(cls, count: int, hexdigest: str) -> ItemChecksum:
        """Carry on from the figures an earlier leg reached: the sum commutes, so legs add up."""
        return cls(count=count, _sum=int(hexdigest, 16) % _MODULUS)

    def add(self, item: Mapping[str, Any]) -> None:
        self.count += 1
        self._sum = (self._sum + item_digest(item)) % _MODULUS

    def add_all(self, items: Iterable[Mapping[str, Any]]) -> ItemChecksum:
        for item in items:
            self.add(item)
        return self

    @property
    def hexdigest(self) -> str:
        """64 hex characters, as recorded in the manifest."""
        return f"{self._sum:064x}"


def checksum_of(items: Iterable[Mapping[str, Any]]) -> ItemChecksum:
    return ItemChecksum().add_all(items)
