"""The importer a SaaS team starts from: the seed's sample code, kept naive on purpose.

It is the baseline of `seed_importer_speedup` and `seed_memory_ratio`: read the whole object
into memory, `list()` the CSV reader, check each row by hand, `put_item` one row at a time through the
boto3 resource layer, and call a counter once per row through the OpenTelemetry SDK (the sample code
set up an SDK meter provider; `configure_metrics` does that here with an in-memory reader, so the
counter's SDK work is paid but nothing is exported, as on our side with no OTLP endpoint). Nothing
here is meant to be improved.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REQUIRED = ("id", "email", "name", "created_at")


def configure_metrics() -> InMemoryMetricReader:
    """The sample code's metrics set-up: the SDK's meter provider as the global one."""
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return reader


def check_row(row: dict[str, str]) -> list[str]:
    """The hand-written checks of the sample code: required fields, email shape, age, timestamp."""
    problems = [f"{name} is required" for name in REQUIRED if not (row.get(name) or "").strip()]
    email = (row.get("email") or "").strip()
    if email and not EMAIL.match(email):
        problems.append("email is not valid")
    age = (row.get("age") or "").strip()
    if age and not (age.isdigit() and 0 <= int(age) <= 150):
        problems.append("age must be an integer 0-150")
    created = (row.get("created_at") or "").strip()
    if created:
        try:
            datetime.fromisoformat(created)
        except ValueError:
            problems.append("created_at is not a timestamp")
    return problems


def import_object(
    s3: Any, dynamodb: Any, *, bucket: str, key: str, table_name: str, tenant_id: str, entity: str
) -> dict[str, int]:
    """Import one uploaded CSV as the sample code does; returns rows stored and rejected."""
    counter = metrics.get_meter("seed-importer").create_counter("data.import.records_processed")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    table = dynamodb.Table(table_name)
    stored, errors = 0, []
    for line, row in enumerate(rows, start=2):
        problems = check_row(row)
        if problems:
            errors.append({"line": line, "errors": problems})
            counter.add(1, {"tenant.id": tenant_id, "import.status": "invalid"})
            continue
        item = {name: value.strip() for name, value in row.items() if value and value.strip()}
        item["email"] = item["email"].lower()
        if "age" in item:
            item["age"] = int(item["age"])
        item["pk"] = f"{tenant_id}#{entity}#seed"
        item["sk"] = item["id"]
        table.put_item(Item=item)
        counter.add(1, {"tenant.id": tenant_id, "import.status": "success"})
        stored += 1
    return {"stored": stored, "invalid": len(errors), "rows": len(rows)}
