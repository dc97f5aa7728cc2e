"""Primary keys seen in one file: exact duplicate detection in bounded memory.

`KeyTracker` keeps the first `max_keys` distinct keys in a Python `dict` (key -> the line where it
first appears, which a repeat's reason names), so a batch is checked with C-level operations
(`isdisjoint`, `update`) and a repeat is known at once. Past that cap
the set stops growing: a key already in it is still a duplicate at once, and every other key is
spilled with its line number to one of `partitions` hash partitions in temporary files. After
the pass, `later_duplicates()` reads one partition at a time and yields, in file order, the
rows repeating a key first seen in a spilled row (the first occurrence in file order stands), each
with the line of that first occurrence and its ordinal among the rows that passed (the rows not
found to repeat a key at once). Several records can share a line (a JSON array on one line), so
rows are told apart by that ordinal, never by their line.

Memory bound. At most `max_keys` keys (default 262,144: ~25 MB for 10-20 character ids, the
set's table plus the strings) during the pass, plus the file buffers of the partitions
(8 KiB each); while resolving, one partition's distinct keys, never more than `max_keys`
either: a larger partition is split again with another hash. So memory is flat however many
rows the file has; `/tmp` holds ~40 bytes per spilled row.

Results are exact (keys are compared, never digests). Callers that stream results must know
that rows after the cap may turn out to be duplicates only at the end (`spilled`).

Across invocations. A pass split over several invocations saves the tracker (`save`: the keys in
memory, the count of rows passed, the spill partitions written since the last save) and the next
invocation goes on with `KeyTracker.resumed`. The pass after the last one joins every invocation's
piece of each partition, in file order (`add_spilled`), before `later_duplicates`.
"""

from __future__ import annotations

import heapq
import shutil
import sys
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import compress, count
from operator import attrgetter, ne, not_
from typing import IO, Any, NamedTuple

import orjson

DEFAULT_MAX_KEYS = 1 << 18
DEFAULT_PARTITIONS = 64
_WRITE_PAIRS = 4096
_MAX_DEPTH = 16  # re-splits of one partition (each divides it by `partitions`)


class LateDuplicate(NamedTuple):
    """A row found to repeat a key only after the pass, and the line that has the key first.

    `ordinal` is the row's position (from 0) among the rows `check` passed: the file's valid rows."""

    line: int
    key: Any
    first_line: int
    ordinal: int


def _key_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value.normalize())
    raise TypeError(f"cannot spill a key of type {type(value).__name__}")


def _partition_hash(key: Any) -> int:
    """A hash of the key that every process agrees on: pieces of one partition spilled by different
    invocations are joined, and Python salts `hash` of a string per process (numbers' is fixed)."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) if isinstance(key, str) else hash(key)


class SavedKeys(NamedTuple):
    """A tracker's state between two invocations of one pass (the spill partitions travel apart)."""

    memory: bytes
    """The keys held in memory and their first lines, as JSON."""
    passed: int
    spilling: bool


_DECIMAL_TAG = b'{"decimal":'


def _saved_key(key: Any) -> Any:
    # orjson keeps strings and integers as they are and asks only for the rest: a decimal key is
    # tagged so it comes back a Decimal.
    if isinstance(key, Decimal):
        return {"decimal": str(key)}
    raise TypeError(f"cannot save a key of type {type(key).__name__}")


def _loaded_key(value: Any) -> Any:
    return Decimal(value["decimal"]) if isinstance(value, dict) else value


class KeyTracker:
    """Set-like memory of keys: `check` returns the positions of keys seen before."""

    def __init__(
        self,
        max_keys: int = DEFAULT_MAX_KEYS,
        partitions: int = DEFAULT_PARTITIONS,
        directory: str | None = None,
    ) -> None:
        if max_keys <= 0 or partitions < 2 or partitions & (partitions - 1):
            raise ValueError("max_keys must be positive and partitions a power of two")
        self._seen: dict[Any, int] = {}
        self._max_keys = max_keys
        self._partitions = partitions
        self._directory = directory
        self._spill: list[IO[bytes]] = []
        self._results: list[IO[bytes]] = []
        self._spilled = 0
        self._passed = 0  # rows `check` did not flag so far: the next passed row's ordinal
        self._positions = 0  # running position for `add_batch` (no line numbers)

    def __len__(self) -> int:
        """Keys held in memory plus keys spilled by this tracker (spilled repeats count until resolved)."""
        return len(self._seen) + self._spilled

    @property
    def spilled(self) -> bool:
        """True once keys go to disk: some duplicates are then known only after the pass."""
        return bool(self._spill)

    @property
    def memory_bytes(self) -> int:
        """Bytes held in memory by the dict and its keys (an estimate from `sys.getsizeof`)."""
        return sys.getsizeof(self._seen) + sum(map(sys.getsizeof, self._seen))

    def save(self) -> SavedKeys:
        """The state a later invocation resumes from; the spill partitions come from `spill_pieces`."""
        memory = orjson.dumps(list(self._seen.items()), default=_saved_key)
        return SavedKeys(memory, self._passed, self.spilled)

    def spill_pieces(self) -> Iterator[tuple[int, IO[bytes]]]:
        """(partition, file rewound to its start) of each partition this tracker spilled rows to."""
        for index, part in enumerate(self._spill):
            part.flush()
            if part.tell():
                part.seek(0)
                yield index, part

    @classmethod
    def resumed(
        cls,
        saved: SavedKeys,
        max_keys: int = DEFAULT_MAX_KEYS,
        partitions: int = DEFAULT_PARTITIONS,
        directory: str | None = None,
    ) -> KeyTracker:
        """A tracker going on where a saved one stopped (same `max_keys` and `partitions`), spills empty."""
        tracker = cls(max_keys, partitions, directory)
        pairs = orjson.loads(saved.memory)
        if _DECIMAL_TAG in saved.memory:
            pairs = [(_loaded_key(key), line) for key, line in pairs]
        tracker._seen = dict(pairs)
        tracker._passed = saved.passed
        if saved.spilling:
            tracker._start_spilling()
        return tracker

    def add_spilled(self, partition: int, piece: IO[bytes]) -> None:
        """Append a saved piece of a spill partition (pieces of one partition in file order)."""
        if not self._spill:
            self._start_spilling()
        shutil.copyfileobj(piece, self._spill[partition])

    def first_line(self, key: Any) -> int | None:
        """The line where a key held in memory first appears (None for a key never seen or spilled)."""
        return self._seen.get(key)

    def add_batch(self, keys: Iterable[Any]) -> list[int]:
        """Insert keys in order; return the positions of those already present (earlier or in the batch)."""
        keys = list(keys)
        start = self._positions
        self._positions += len(keys)
        return self.check(range(start, start + len(keys)), keys)

    def check(self, lines: Sequence[int], keys: Sequence[Any]) -> list[int]:
        """Positions in `keys` of repeats known now (the first occurrence in file order stands).

        `lines` ascend (readers hand records over in file order)."""
        seen = self._seen
        if self._spill:
            return self._check_spilling(lines, keys)
        room = self._max_keys - len(seen)
        if len(keys) > room:
            # Fill the dict up to the cap with the earliest rows, spill the rest.
            repeats = self.check(lines[:room], keys[:room])
            if not self._spill:
                self._start_spilling()
            return repeats + [room + p for p in self._check_spilling(lines[room:], keys[room:])]
        fresh = dict(zip(reversed(keys), reversed(lines), strict=True))  # each key's first line here
        if len(fresh) == len(keys) and seen.keys().isdisjoint(fresh):
            repeats = []
        else:
            # Rows are told apart by position, not line: records can share a line (a JSON array on one line).
            positions = range(len(keys))
            first_at = dict(zip(reversed(keys), reversed(positions), strict=True))
            for key in seen.keys() & fresh.keys():
                first_at[key] = -1  # a key from an earlier batch: every row of it here repeats
                del fresh[key]  # and keeps its first line
            repeats = list(compress(positions, map(ne, map(first_at.__getitem__, keys), positions)))
        seen.update(fresh)
        self._passed += len(keys) - len(repeats)
        if len(seen) >= self._max_keys:
            self._start_spilling()
        return repeats

    def _start_spilling(self) -> None:
        self._spill = [self._temp() for _ in range(self._partitions)]

    def _temp(self) -> IO[bytes]:
        return tempfile.TemporaryFile(dir=self._directory)

    def _check_spilling(self, lines: Sequence[int], keys: Sequence[Any]) -> list[int]:
        seen = self._seen
        lines, keys = list(lines), list(keys)
        repeats: list[int] = []
        if not seen.keys().isdisjoint(keys):
            known = list(map(seen.__contains__, keys))
            repeats = list(compress(range(len(keys)), known))
            fresh = list(map(not_, known))
            lines, keys = list(compress(lines, fresh)), list(compress(keys, fresh))
        mask = self._partitions - 1
        buckets: dict[int, list[tuple[int, int, Any]]] = {}
        for ordinal, line, key in zip(count(self._passed), lines, keys):
            buckets.setdefault(_partition_hash(key) & mask, []).append((ordinal, line, key))
        self._passed += len(keys)
        for index, rows in buckets.items():
            self._spill[index].write(orjson.dumps(rows, default=_key_text) + b"\n")
            self._spilled += len(rows)
        return repeats

    def later_duplicates(self) -> Iterator[LateDuplicate]:
        """After the pass: each spilled row repeating an earlier spilled row, in file order."""
        partitions = map(self.partition_duplicates, range(len(self._spill)))
        return heapq.merge(*partitions, key=attrgetter("ordinal"))

    def partition_duplicates(self, partition: int) -> Iterator[LateDuplicate]:
        """After the pass: the later duplicates among one partition's spilled rows, in file order (a key
        lives in one partition, so each partition resolves alone: one at a time, or one per invocation)."""
        part = self._spill[partition]
        part.flush()
        part.seek(0)
        out = self._temp()
        self._results.append(out)
        self._resolve(part, out, depth=1)
        out.seek(0)
        return late_duplicates_in(out)

    def _resolve(self, part: IO[bytes], out: IO[bytes], depth: int) -> None:
        """Write the later duplicates of one partition to `out`; split it if it holds too many keys."""
        seen: dict[Any, int] = {}  # key -> line of its first row
        for chunk in part:
            found = []
            for ordinal, line, key in orjson.loads(chunk):
                first = seen.get(key)
                if first is None:
                    seen[key] = line
                else:
                    found.append((ordinal, line, key, first))
            if found:
                out.write(orjson.dumps(found) + b"\n")
            if len(seen) > self._max_keys and depth < _MAX_DEPTH:
                break
        else:
            return
        # Too many distinct keys for one partition: split it by another hash and merge the results.
        del seen
        out.seek(0)
        out.truncate()
        self._split(part, out, depth)

    def _split(self, part: IO[bytes], out: IO[bytes], depth: int) -> None:
        part.seek(0)
        subs = [self._temp() for _ in range(self._partitions)]
        mask = self._partitions - 1
        for chunk in part:
            buckets: dict[int, list[Any]] = {}
            for row in orjson.loads(chunk):
                buckets.setdefault(hash(f"{depth}\x00{row[2]!r}") & mask, []).append(row)
            for index, rows in buckets.items():
                subs[index].write(orjson.dumps(rows) + b"\n")
        found_files = []
        for sub in subs:
            sub.seek(0)
            found = self._temp()
            self._resolve(sub, found, depth + 1)
            sub.close()
            found.seek(0)
            found_files.append(found)
        batch: list[list[Any]] = []
        for entry in heapq.merge(*map(_entries, found_files)):
            batch.append(entry)
            if len(batch) >= _WRITE_PAIRS:
                out.write(orjson.dumps(batch) + b"\n")
                batch = []
        if batch:
            out.write(orjson.dumps(batch) + b"\n")
        for found in found_files:
            found.close()

    def close(self) -> None:
        for part in (*self._spill, *self._results):
            part.close()
        self._spill, self._results = [], []
        self._seen = {}

    def __enter__(self) -> KeyTracker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def late_duplicates_in(file: IO[bytes]) -> Iterator[LateDuplicate]:
    """The later duplicates a file of results holds (`write_late_duplicates`, or a partition's own)."""
    for ordinal, line, key, first_line in _entries(file):
        yield LateDuplicate(line=line, key=key, first_line=first_line, ordinal=ordinal)


def write_late_duplicates(file: IO[bytes], found: Iterable[LateDuplicate]) -> int:
    """Write later duplicates (in file order) as `late_duplicates_in` reads them; returns how many."""
    written = 0
    batch: list[tuple[int, int, Any, int]] = []
    for late in found:
        batch.append((late.ordinal, late.line, late.key, late.first_line))
        if len(batch) >= _WRITE_PAIRS:
            file.write(orjson.dumps(batch) + b"\n")
            written += len(batch)
            batch = []
    if batch:
        file.write(orjson.dumps(batch) + b"\n")
        written += len(batch)
    return written


def _entries(file: IO[bytes]) -> Iterator[list[Any]]:
    """The `[ordinal, line, key]` rows (or `[ordinal, line, key, first line]` results) of a file, in order."""
    for chunk in file:
        yield from orjson.loads(chunk)
