"""Limits that keep a hostile file from exhausting a function's memory or time."""

from __future__ import annotations

from dataclasses import dataclass

from tenant_pipeline.topology import DEFAULT_MAX_DECOMPRESSED_BYTES


@dataclass(frozen=True)
class ReadLimits:
    """Caps applied while reading one file.

    `max_line_bytes` bounds a physical line (CSV, JSON Lines) and a JSON array element, measured
    in decoded characters for CSV (never less strict than bytes for ASCII data) and in bytes for
    JSON Lines. A CSV field spanning lines is bounded by the same figure.
    """

    max_line_bytes: int = 128 * 1024
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES
    max_columns: int = 256
    max_depth: int = 32
    chunk_bytes: int = 256 * 1024
    batch_rows: int = 1000

    def __post_init__(self) -> None:
        for name in ("max_line_bytes", "max_decompressed_bytes", "max_columns", "max_depth", "chunk_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ReadLimits.{name} must be positive")
        if self.batch_rows <= 0:
            raise ValueError("ReadLimits.batch_rows must be positive")
