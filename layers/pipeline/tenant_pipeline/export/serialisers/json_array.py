"""A JSON array of objects, one object per line so the file stays readable and diffable."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from tenant_pipeline.export.serialisers.base import CHUNK_BYTES, dump_json, project


class JsonArraySerialiser:
    """Writes `[`, the objects separated by `,\\n`, then `]`; an empty export is `[]`."""

    def __init__(self, columns: Sequence[str]) -> None:
        self._columns = tuple(columns)

    def chunks(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        columns = self._columns
        dumps = dump_json
        pending: list[bytes] = [b"["]
        size = 1
        separator = b"\n"
        for record in records:
            item = dumps(project(record, columns))
            pending.append(separator)
            pending.append(item)
            separator = b",\n"
            size += len(item) + 2
            if size >= CHUNK_BYTES:
                yield b"".join(pending)
                pending.clear()
                size = 0
        pending.append(b"\n]\n" if separator == b",\n" else b"]\n")
        yield b"".join(pending)
