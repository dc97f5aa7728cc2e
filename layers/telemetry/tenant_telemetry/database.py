"""Span names and attributes of DynamoDB operations, after the database semantic conventions."""

from __future__ import annotations

from typing import Any

DATABASE_SYSTEM = "aws.dynamodb"


def dynamodb_span_name(operation: str, table: str) -> str:
    """`{db.operation.name} {db.collection.name}`, as the conventions name an operation's span."""
    return f"{operation} {table}"


def dynamodb_attributes(operation: str, table: str) -> dict[str, Any]:
    """The attributes the conventions give one DynamoDB operation on one table."""
    return {
        "db.system.name": DATABASE_SYSTEM,
        "db.operation.name": operation,
        "db.collection.name": table,
        "aws.dynamodb.table_names": [table],
    }
