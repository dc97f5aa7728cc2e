"""`tenantctl explain` on the local AWS: an import's phases, from the jobs ledger, add up to its wall time."""

from __future__ import annotations

import html
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import BATCH_ROWS, LocalAws

pytestmark = pytest.mark.e2e

ROWS = 400


def _contacts(path: Path, rows: int) -> Path:
    lines = ["id,email,name,age,created_at,country"]
    lines += [
        f"c-{n:05d},p{n}@example.com,Person {n},{20 + n % 60},2024-02-11T09:01:00Z,US" for n in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def explained(local_aws: LocalAws, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # Given a tenant and a file of 40 batches
    local_aws.tenantctl("tenants", "create", "explained")
    source = _contacts(tmp_path_factory.mktemp("explain") / "contacts.csv", ROWS)
    # When it is imported
    job = local_aws.tenantctl_json("import", "explained", "contacts", str(source), "--wait")
    assert job["status"] == "SUCCEEDED"
    # Then its explanation has every batch (each is recorded before the completion check)
    explanation: dict[str, Any] = local_aws.tenantctl_json("explain", job["job_id"])
    return {"job": job, "explanation": explanation}


def test_phases_add_up_to_the_wall_time_within_5_percent(explained: dict[str, Any]) -> None:
    explanation = explained["explanation"]
    phases = {phase["name"]: phase for phase in explanation["phases"]}
    named = sum(phase["seconds"] for name, phase in phases.items() if name != "unaccounted")

    assert explanation["wall_seconds"] > 0
    assert abs(named - explanation["wall_seconds"]) <= 0.05 * explanation["wall_seconds"]
    assert phases["writes"]["seconds"] > 0 and phases["fan-out"]["seconds"] > 0
    assert phases["parse"]["seconds"] > 0 and phases["validate"]["seconds"] > 0
    assert explanation["batches_recorded"] == ROWS // BATCH_ROWS
    assert explanation["rows"] == ROWS
    assert explanation["binding"].startswith("The job was bound by ")


def test_slowest_batches_carry_their_queue_wait_and_write_time(explained: dict[str, Any]) -> None:
    slowest = explained["explanation"]["slowest_batches"]

    assert len(slowest) == 5
    assert [batch["seconds"] for batch in slowest] == sorted(
        (batch["seconds"] for batch in slowest), reverse=True
    )
    assert all(batch["queue_wait_seconds"] is not None and batch["write_seconds"] > 0 for batch in slowest)


def test_the_human_form_names_the_binding_phase(local_aws: LocalAws, explained: dict[str, Any]) -> None:
    text = local_aws.tenantctl("explain", explained["job"]["job_id"]).stdout

    assert explained["explanation"]["binding"] in text
    assert "queue wait" in text and f"slowest batches (of {ROWS // BATCH_ROWS})" in text


def test_spans_carry_what_the_explanation_uses(local_aws: LocalAws, explained: dict[str, Any]) -> None:
    spans = _spans_when_complete(local_aws, explained["job"]["job_id"])
    by_name: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        by_name.setdefault(span["name"], []).append(span)
    (validate,) = by_name["data.import.validate"]
    children = {span["name"] for span in spans if span.get("parent_span_id") == validate["span_id"]}
    assert {"data.import.validate.rows", "data.import.report", "data.import.fanout"} <= children
    (rows_pass,) = by_name["data.import.validate.rows"]
    assert rows_pass["attributes"]["import.read_seconds"] >= 0
    assert rows_pass["attributes"]["import.parse_seconds"] > 0
    assert rows_pass["attributes"]["import.check_seconds"] > 0
    # A batch retried on a loaded machine has a span per attempt: the attempt that counted it says so.
    batch_attributes = _counting_attempts(by_name["data.import.batch"])
    numbers = sorted(attributes["import.batch_number"] for attributes in batch_attributes)
    assert numbers == list(range(1, ROWS // BATCH_ROWS + 1))
    for attributes in batch_attributes:
        assert attributes["import.queue_wait_seconds"] >= 0
        assert attributes["import.write_seconds"] > 0
        assert attributes["import.throttled_retries"] == 0


def _spans_when_complete(local_aws: LocalAws, job_id: str, timeout_s: float = 15) -> list[dict[str, Any]]:
    """Every invocation writes its spans as it ends, a little after it counted its batch or finished the job:
    wait for the root and every batch."""
    deadline = time.monotonic() + timeout_s
    while True:
        spans: list[dict[str, Any]] = local_aws.tenantctl_json("trace", job_id)["spans"]
        names = [span["name"] for span in spans]
        batches = [span for span in spans if span["name"] == "data.import.batch"]
        complete = "data.import" in names and len(_counting_attempts(batches)) == ROWS // BATCH_ROWS
        if complete or time.monotonic() > deadline:
            return spans
        time.sleep(0.3)


def _counting_attempts(batch_spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The attributes of the batch spans whose attempt counted its batch (not a failed or repeated one)."""
    attempts = [span["attributes"] for span in batch_spans]
    return [attributes for attributes in attempts if attributes.get("import.redelivered") is False]


def test_trace_html_is_one_file_with_the_explanation_and_every_span(
    local_aws: LocalAws, explained: dict[str, Any], tmp_path: Path
) -> None:
    job_id = explained["job"]["job_id"]
    spans = _spans_when_complete(local_aws, job_id)
    page = tmp_path / "trace.html"

    local_aws.tenantctl("trace", job_id, "--html", str(page))

    text = page.read_text()
    assert explained["explanation"]["binding"] in text
    assert text.count('class="bar"') == len(spans) + 1  # every span, and the batches' group
    assert "https://" not in text and "src=" not in text


def test_an_exports_phases_add_up_to_its_wall_time_within_5_percent(
    local_aws: LocalAws, explained: dict[str, Any], tmp_path: Path
) -> None:
    # Given the imported tenant, exported
    export = local_aws.tenantctl_json(
        "export", "explained", "--entities", "contacts", "--format", "csv", "--out", str(tmp_path)
    )
    assert export["status"] == "SUCCEEDED"

    explanation = local_aws.tenantctl_json("explain", export["job_id"])

    phases = {phase["name"]: phase for phase in explanation["phases"]}
    named = sum(phase["seconds"] for name, phase in phases.items() if name != "unaccounted")
    assert abs(named - explanation["wall_seconds"]) <= 0.05 * explanation["wall_seconds"]
    assert phases["query"]["seconds"] > 0 and phases["upload"]["seconds"] > 0
    assert [(entity["entity"], entity["records"]) for entity in explanation["entities"]] == [
        ("contacts", ROWS)
    ]
    assert explanation["rows"] == ROWS
    # and the export's trace page opens with the same explanation
    assert explanation["binding"] in _trace_page(local_aws, export["job_id"], tmp_path)


def test_a_migrations_phases_add_up_to_its_executions_wall_time_within_5_percent(
    local_aws: LocalAws, tmp_path: Path
) -> None:
    # Given a tenant of 400 contacts, migrated in chunks of 100
    local_aws.tenantctl("tenants", "create", "explained-move")
    source = _contacts(tmp_path / "contacts.csv", ROWS)
    assert (
        local_aws.tenantctl_json("import", "explained-move", "contacts", str(source), "--wait")["stored"]
        == ROWS
    )
    migration = local_aws.tenantctl_json(
        "migrate", "explained-move", "--to", "eu-west-1", "--chunk-items", "100", "--wait"
    )
    assert migration["status"] == "SUCCEEDED", migration

    explanation = local_aws.tenantctl_json("explain", migration["migration_id"])

    # Then its lines add up to the wall time Step Functions reports for the execution, within 5%
    execution = json.loads(
        local_aws.aws(
            "stepfunctions", "describe-execution", "--execution-arn", migration["execution_arn"]
        ).stdout
    )
    wall = _epoch_s(execution["stopDate"]) - _epoch_s(execution["startDate"])
    phases = {phase["name"]: phase for phase in explanation["phases"]}
    assert abs(sum(phase["seconds"] for phase in phases.values()) - wall) <= 0.05 * wall
    assert abs(explanation["wall_seconds"] - wall) <= 0.05 * wall
    assert {"freeze", "snapshot", "transfer", "load", "verify", "cutover", "transitions"} <= set(phases)
    assert phases["load"]["items_per_second"] > 0
    assert explanation["items"] == ROWS
    assert explanation["chunks_recorded"] == ROWS // 100
    assert explanation["binding"].startswith("The migration was bound by ")
    text = local_aws.tenantctl("explain", migration["migration_id"]).stdout
    assert explanation["binding"] in text and "slowest load chunks (of 4):" in text
    # and `trace` finds the migration's trace by its id too
    assert local_aws.tenantctl_json("trace", migration["migration_id"])["trace_id"] == migration["trace_id"]
    # and its trace page opens with the same explanation
    assert explanation["binding"] in _trace_page(local_aws, migration["migration_id"], tmp_path)


def _trace_page(local_aws: LocalAws, job_id: str, folder: Path) -> str:
    """The `trace --html` page's explanation, as text."""
    page = folder / f"{job_id}.html"
    local_aws.tenantctl("trace", job_id, "--html", str(page))
    text = page.read_text()
    start = text.index('<pre id="explanation">')
    return html.unescape(text[start : text.index("</pre>", start)])


def _epoch_s(value: float | str) -> float:
    """A timestamp as the AWS CLI prints it: epoch seconds, or ISO 8601 (`cli_timestamp_format`)."""
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
