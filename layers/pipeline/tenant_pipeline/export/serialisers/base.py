"""What every serialiser offers, and the conversion of stored values to JSON."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

import orjson

CHUNK_BYTES = 256 * 1024
"""Serialisers yield about this many bytes at a time: few calls into the uploader, bounded memory."""


class UnserialisableValueError(TypeError):
    """A stored value has a type that no export format can represent."""


class Serialiser(Protocol):
    """Turns records into the bytes of one export file, streaming."""

    def chunks(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        """The whole file as a sequence of byte chunks, each about `CHUNK_BYTES` or less."""
        ...


def json_default(value: object) -> object:
    """orjson fallback for the types DynamoDB returns: numbers stay numbers, exactly as stored."""
    if isinstance(value, Decimal):
        # A fragment is written verbatim: `12.50` stays `12.50`, no float rounding on the way out.
        return orjson.Fragment(format(value, "f"))
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    raw = getattr(value, "value", None)  # boto3's Binary wraps bytes
    if isinstance(raw, bytes):
        return base64.b64encode(raw).decode("ascii")
    raise UnserialisableValueError(f"cannot export a value of type {type(value).__name__}")


def dump_json(value: object, option: int = 0) -> bytes:
    """`orjson.dumps` with the store's types; an unsupported type raises `UnserialisableValueError`."""
    try:
        return orjson.dumps(value, default=json_default, option=option)
    except orjson.JSONEncodeError as exc:
        raise UnserialisableValueError(str(exc.__cause__ or exc)) from exc


def project(record: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """The record's schema columns in schema order; absent columns stay absent, store attributes go."""
    return {column: record[column] for column in columns if column in record}
