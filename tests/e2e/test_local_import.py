"""An import end to end on `tenantctl local up`: AWS CLI upload, then jobs/job/report/trace as JSON."""

from __future__ import annotations

import binascii
import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tenantctl.commands.demo import sample_path
from tests.e2e.conftest import BATCH_ROWS, TENANTCTL, LocalAws, _environment, _free_port

pytestmark = pytest.mark.e2e

ORDERS_ROWS = 30
ORDERS_INVALID = 3


@pytest.fixture(scope="module")
def orders_job(local_aws: LocalAws) -> dict[str, Any]:
    # Given a tenant
    local_aws.tenantctl("tenants", "create", "acme")
    bucket = local_aws.tenantctl_json("local", "info")["resources"]["ingest-bucket"]
    # When a platform engineer copies a file into the tenant's prefix with the AWS CLI
    local_aws.aws(
        "s3", "cp", str(sample_path("orders.csv")), f"s3://{bucket}/tenants/acme/imports/orders/orders.csv"
    )
    # Then a job runs to completion
    return local_aws.wait_for_finished_job("acme", "orders")


def test_local_info_publishes_every_resource(local_aws: LocalAws) -> None:
    info = local_aws.tenantctl_json("local", "info")
    assert info["endpoint_url"] == local_aws.endpoint_url
    assert info["region"] == "us-east-1"
    assert {
        "ingest-bucket",
        "jobs-table",
        "tenants-table",
        "import-batches-queue",
        "import-batches-dlq",
    } <= set(info["resources"])
    assert Path(info["spans_file"]).parent == local_aws.state_dir.resolve()


def test_job_counts_every_row(local_aws: LocalAws, orders_job: dict[str, Any]) -> None:
    job = local_aws.tenantctl_json("job", orders_job["job_id"])
    assert job["status"] == "PARTIAL"
    assert (job["tenant_id"], job["kind"], job["entity_type"]) == ("acme", "import", "orders")
    assert job["total_rows"] == ORDERS_ROWS
    assert job["invalid"] == ORDERS_INVALID
    assert job["stored"] == ORDERS_ROWS - ORDERS_INVALID
    assert job["failed_batches"] == []
    assert job["finished_at"] and job["trace_id"] and job["report_uri"]


def test_local_up_prints_every_functions_log_lines(local_aws: LocalAws, orders_job: dict[str, Any]) -> None:
    # The functions' JSON log lines go to local up's standard error, as `sam local` shows them
    lines = [
        json.loads(line)
        for line in (local_aws.state_dir / "local-up.log").read_text().splitlines()
        if line.startswith("{")
    ]
    finished = [
        line
        for line in lines
        if line.get("message") == "import job finished" and line.get("job_id") == orders_job["job_id"]
    ]
    assert len(finished) == 1
    assert finished[0]["status"] == "PARTIAL"
    assert finished[0]["name"] == "tenant_pipeline.imports.completion"
    services = {line.get("service") for line in lines}
    assert {"import_validate", "import_load"} <= services


def test_report_names_each_invalid_row(local_aws: LocalAws, orders_job: dict[str, Any]) -> None:
    report = local_aws.tenantctl_json("report", orders_job["job_id"])
    lines = sorted({int(row["line"]) for row in report["rows"]})
    # Lines count the header: the sample's invalid data rows 7, 15 and 23 are file lines 8, 16 and 24.
    assert lines == [8, 16, 24]
    assert report["error"] is None


def test_validator_and_every_batch_are_in_the_jobs_trace(
    local_aws: LocalAws, orders_job: dict[str, Any]
) -> None:
    trace = local_aws.tenantctl_json("trace", orders_job["job_id"])
    spans = trace["spans"]
    by_id = {span["span_id"]: span for span in spans}
    assert {span["trace_id"] for span in spans} == {orders_job["trace_id"]}
    (root,) = [span for span in spans if span["name"] == "data.import"]
    validators = [span for span in spans if span["name"] == "data.import.validate"]
    batches = [span for span in spans if span["name"] == "data.import.batch"]
    expected_batches = -(-(ORDERS_ROWS - ORDERS_INVALID) // BATCH_ROWS)
    assert validators
    assert len(batches) == expected_batches

    def descends_from_root(span: dict[str, Any]) -> bool:
        seen: set[str] = set()
        while span["span_id"] != root["span_id"]:
            parent = by_id.get(span.get("parent_span_id") or "")
            if parent is None or parent["span_id"] in seen:
                return False
            seen.add(parent["span_id"])
            span = parent
        return True

    assert all(descends_from_root(span) for span in validators + batches)


def test_trace_draws_a_tree(local_aws: LocalAws, orders_job: dict[str, Any]) -> None:
    drawing = local_aws.tenantctl("trace", orders_job["job_id"]).stdout
    assert drawing.splitlines()[0].startswith(f"trace {orders_job['trace_id']}")
    assert "data.import.validate" in drawing
    assert "└─ " in drawing and " ms" in drawing
    assert len(drawing.splitlines()) <= 40
    assert "data.import.batch  " in drawing and " spans  min " in drawing  # the batches share one line


def test_trace_follows_a_trace_id_as_a_span_link_names_it(
    local_aws: LocalAws, orders_job: dict[str, Any]
) -> None:
    by_job = local_aws.tenantctl("trace", orders_job["job_id"]).stdout
    by_id = local_aws.tenantctl("trace", "--trace-id", orders_job["trace_id"].upper()).stdout
    assert by_id == by_job
    neither = local_aws.tenantctl("trace", check=False)
    assert neither.returncode == 2 and "--trace-id" in neither.stderr


def test_import_command_waits_and_joins_the_uploaders_trace(local_aws: LocalAws) -> None:
    local_aws.tenantctl("tenants", "create", "initech")
    job = local_aws.tenantctl_json(
        "import", "initech", "contacts", str(sample_path("contacts.csv")), "--wait"
    )
    assert (job["status"], job["stored"], job["total_rows"], job["invalid"]) == ("SUCCEEDED", 25, 25, 0)
    listed = local_aws.tenantctl_json("jobs", "initech")
    assert [entry["job_id"] for entry in listed] == [job["job_id"]]


def test_a_tenant_created_with_its_own_shard_count_is_stored_over_those_shards(local_aws: LocalAws) -> None:
    created = local_aws.tenantctl_json("tenants", "create", "umbrella", "--shards", "4")
    assert created["shard_count"] == 4
    job = local_aws.tenantctl_json(
        "import", "umbrella", "contacts", str(sample_path("contacts.csv")), "--wait"
    )
    assert (job["status"], job["stored"]) == ("SUCCEEDED", 25)
    assert local_aws.tenantctl_json("tenants", "show", "umbrella")["shard_count"] == 4
    table = local_aws.tenantctl_json("local", "info")["resources"]["tenant-data-table"]
    scanned = json.loads(local_aws.aws("dynamodb", "scan", "--table-name", table, "--output", "json").stdout)
    keys = [
        (item["pk"]["S"], item["sk"]["S"])
        for item in scanned["Items"]
        if item["pk"]["S"].startswith("umbrella#")
    ]
    assert len(keys) == 25
    assert all(pk == f"umbrella#contacts#{binascii.crc32(sk.encode()) % 4}" for pk, sk in keys)


def test_a_rejected_file_fails_the_import_and_explains_itself(local_aws: LocalAws, tmp_path: Path) -> None:
    local_aws.tenantctl("tenants", "create", "hooli")
    bad = tmp_path / "contacts.csv"
    bad.write_text("id,email,shoe_size\nc-1,a@example.com,42\n")
    result = local_aws.tenantctl("import", "hooli", "contacts", str(bad), "--wait", check=False)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    (job,) = local_aws.tenantctl_json("jobs", "hooli")
    assert job["status"] == "FAILED_VALIDATION"
    report = local_aws.tenantctl_json("report", job["job_id"])
    assert report["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tenants", "show", "nobody"), "unknown tenant"),
        (("import", "nobody", "contacts", "/no/such/file.csv"), "no such file"),
        (("job", "no-such-job"), "unknown job"),
        (("redrive", "no-such-queue"), "unknown queue"),
    ],
)
def test_user_mistakes_are_one_line_without_traceback(
    local_aws: LocalAws, args: tuple[str, ...], message: str
) -> None:
    result = local_aws.tenantctl(*args, check=False)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_stopped_local_aws_is_reported_plainly() -> None:
    port = _free_port()
    result = subprocess.run(
        [TENANTCTL, "--endpoint-url", f"http://127.0.0.1:{port}", "tenants", "list"],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "cannot reach" in result.stderr
    assert "Traceback" not in result.stderr


def test_redrive_moves_dead_letters_back(local_aws: LocalAws) -> None:
    info = local_aws.tenantctl_json("local", "info")["resources"]
    local_aws.aws("sqs", "send-message", "--queue-url", info["import-batches-dlq"], "--message-body", "{}")
    moved = local_aws.tenantctl_json("redrive", "import-batches")
    assert moved["moved"] == 1


def test_sigint_stops_cleanly(tmp_path: Path) -> None:
    # stderr goes to a file: an undrained pipe fills up (handler logs, warnings) and blocks the server
    log_path = tmp_path / "local-up.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [TENANTCTL, "local", "up", "--port", "0", "--state-dir", str(tmp_path / "state")],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=_environment(),
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith("ready: http://127.0.0.1:")
    process.send_signal(signal.SIGTERM)
    try:
        status = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"local up did not stop within 60 s:\n{log_path.read_text()[-3000:]}") from None
    finally:
        log.close()
    assert status == 0
    assert "local AWS stopped" in log_path.read_text()
