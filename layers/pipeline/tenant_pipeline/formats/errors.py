"""Whole-file failures. Each `str()` is the reason a tenant reads in the job's error report."""

from __future__ import annotations


class FileRejectedError(Exception):
    """The file as a whole cannot be imported; nothing from it may be loaded."""


class UnsupportedFormatError(FileRejectedError):
    """The object key names no supported format (csv, jsonl, json, each optionally .gz)."""


class EmptyFileError(FileRejectedError):
    """The file holds no data (zero bytes, or only blank lines / only a header)."""


class EncodingError(FileRejectedError):
    """The file is not valid UTF-8 (e.g. Latin-1 or UTF-16)."""


class HeaderError(FileRejectedError):
    """The CSV header is unusable (blank, duplicate or empty column names, too many columns)."""


class WrongDelimiterError(HeaderError):
    """The CSV header looks separated by something other than commas (semicolons, tabs, pipes)."""


class UnknownColumnError(FileRejectedError):
    """The CSV header names a column the entity schema does not know."""


class MissingColumnError(FileRejectedError):
    """The CSV header lacks a column the entity schema requires."""


class MalformedCsvError(FileRejectedError):
    """The CSV cannot be parsed further (e.g. an unbalanced quote swallowing the rest of the file)."""


class DecompressedTooLargeError(FileRejectedError):
    """The decompressed content exceeds the configured cap (a gzip bomb, or simply too large)."""


class CorruptGzipError(FileRejectedError):
    """The gzip stream is truncated or corrupt."""


class NotJsonArrayError(FileRejectedError):
    """A .json file is not a single top-level JSON array of objects."""


class JsonNestingError(FileRejectedError):
    """JSON nesting goes deeper than the configured limit."""


class RecordTooLargeError(FileRejectedError):
    """One JSON array element is larger than the configured limit, so the stream cannot continue."""
