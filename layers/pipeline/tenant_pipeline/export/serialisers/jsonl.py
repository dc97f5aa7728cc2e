"""JSON Lines: one object per line, keys in schema column order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson

from tenant_pipeline.export.serialisers.base import CHUNK_BYTES, dump_json, project


class JsonLinesSerialiser:
    """Writes `{...}\\n` per record."""

    def __init__(self, columns: Sequence[str]) -> None:
        self._columns = tuple(columns)

    def chunks(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        columns = self._columns
        dumps = dump_json
        option = orjson.OPT_APPEND_NEWLINE
        pending: list[bytes] = []
        size = 0
        for record in records:
            line = dumps(project(record, columns), option)
            pending.append(line)
            size += len(line)
            if size >= CHUNK_BYTES:
                yield b"".join(pending)
                pending.clear()
                size = 0
        if pending:
            yield b"".join(pending)
