"""`tenantctl export` on a local AWS started in this process, which runs the export function in-process."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenant_pipeline.export import ChecksumMismatchError, ExportManifest, export_prefix
from tenant_pipeline.export.keys import manifest_key
from tenant_pipeline.topology import Resource
from tenantctl.cli import main
from tenantctl.export_command import UnsafeManifestError, download_file
from tenantctl.local.stack import LocalAws, LocalAwsOptions
from tenantctl.target import Target
from tests.integration.export.conftest import contact, order

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    saved = dict(os.environ)
    aws = LocalAws(LocalAwsOptions(port=0, state_dir=tmp_path_factory.mktemp("state")))
    url = aws.start()
    try:
        target = Target.resolve(local=False, endpoint_url=url, region=aws.primary_region)
        target.directory().create("acme", aws.primary_region)
        target.directory().create("globex", aws.primary_region)
        yield target
    finally:
        aws.stop()
        os.environ.clear()
        os.environ.update(saved)


def seed(target: Target, tenant_id: str, entity: str, records: list[dict[str, object]]) -> None:
    from tenant_pipeline.entities import load_entity
    from tenant_pipeline.imports.items import AttributePlan
    from tenant_pipeline.store.tenant_data import TenantDataStore

    schema = load_entity(entity)
    plan = AttributePlan.from_schema(schema.columns, schema.raw["properties"], schema.primary_key)
    store = TenantDataStore(target.name(Resource.TENANT_DATA_TABLE), target.clients().dynamodb)
    rows = [[record.get(column) for column in schema.columns] for record in records]
    store.put_items(plan.items(tenant_id, entity, rows, target.find_tenant(tenant_id).shard_count))


def cli(target: Target, *args: str) -> int:
    assert target.endpoint_url is not None
    return main([*args, "--endpoint-url", target.endpoint_url, "--region", target.region])


def test_export_downloads_verified_files_and_the_manifest(
    local: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(local, "acme", "contacts", [contact(i, name="=1+1" if i == 7 else f"C {i}") for i in range(300)])
    seed(local, "acme", "orders", [order(i) for i in range(120)])
    code = cli(
        local,
        "export",
        "acme",
        "--entities",
        "contacts,orders",
        "--format",
        "csv",
        "--out",
        str(tmp_path),
        "--json",
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "SUCCEEDED"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contacts.csv", "manifest.json", "orders.csv"]
    manifest = ExportManifest.from_json((tmp_path / "manifest.json").read_bytes())
    assert manifest.job_id == result["job_id"]
    for entry in manifest.files:
        body = (tmp_path / entry.file_name).read_bytes()
        assert hashlib.sha256(body).hexdigest() == entry.sha256
        assert len(body) == entry.bytes
    assert {entry.entity: entry.record_count for entry in manifest.files} == {"contacts": 300, "orders": 120}
    assert b"'=1+1" in (tmp_path / "contacts.csv").read_bytes()
    assert all(file["verified"] for file in result["files"])

    # The job is in the ledger like any other job, in the trace the command started
    assert cli(local, "job", result["job_id"], "--json") == 0
    job = json.loads(capsys.readouterr().out)
    assert job["kind"] == "export"
    assert job["status"] == "SUCCEEDED"
    assert job["trace_id"] == result["trace_id"]


def test_gzip_export_is_named_dot_gz_and_inflates(local: Target, tmp_path: Path) -> None:
    seed(local, "globex", "contacts", [contact(i) for i in range(40)])
    assert (
        cli(
            local,
            "export",
            "globex",
            "--entities",
            "contacts",
            "--format",
            "jsonl",
            "--gzip",
            "--out",
            str(tmp_path),
        )
        == 0
    )
    lines = gzip.decompress((tmp_path / "contacts.jsonl.gz").read_bytes()).splitlines()
    assert len(lines) == 40
    assert {json.loads(line)["id"] for line in lines} == {f"c{i:06d}" for i in range(40)}


def test_download_job_fetches_an_earlier_export(
    local: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli(
            local,
            "export",
            "acme",
            "--entities",
            "orders",
            "--format",
            "json",
            "--out",
            str(tmp_path / "a"),
            "--json",
        )
        == 0
    )
    job_id = json.loads(capsys.readouterr().out)["job_id"]
    assert cli(local, "export", "acme", "--job", job_id, "--out", str(tmp_path / "b"), "--json") == 0
    assert (tmp_path / "a" / "orders.json").read_bytes() == (tmp_path / "b" / "orders.json").read_bytes()
    # Another tenant cannot fetch it
    assert cli(local, "export", "globex", "--job", job_id, "--out", str(tmp_path / "c")) != 0
    assert "not an export of tenant 'globex'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("export", "nobody"), "unknown tenant 'nobody'"),
        (("export", "acme", "--entities", "contacts,invoices"), "unknown entity type invoices"),
    ],
)
def test_user_mistakes_are_one_line_errors(
    local: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    assert cli(local, *args, "--out", str(tmp_path)) != 0
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_tampered_file_is_refused_and_not_left_behind(local: Target, tmp_path: Path) -> None:
    from tenant_pipeline.export.manifest import ManifestFile

    assert (
        cli(local, "export", "acme", "--entities", "orders", "--format", "csv", "--out", str(tmp_path / "ok"))
        == 0
    )
    manifest = ExportManifest.from_json((tmp_path / "ok" / "manifest.json").read_bytes())
    entry = manifest.file("orders")
    bucket = local.name(Resource.EXPORT_BUCKET)
    s3 = local.clients().s3
    s3.put_object(
        Bucket=bucket, Key=entry.key, Body=(tmp_path / "ok" / "orders.csv").read_bytes() + b"x,1\r\n"
    )
    with pytest.raises(ChecksumMismatchError, match=r"orders\.csv"):
        download_file(s3, bucket, entry, tmp_path, prefix=export_prefix("acme", manifest.job_id))
    assert list(tmp_path.glob("orders.csv*")) == []
    escaping = ManifestFile(**{**entry.__dict__, "file_name": "../evil.csv"})
    with pytest.raises(UnsafeManifestError, match="not a plain file name"):
        download_file(s3, bucket, escaping, tmp_path, prefix=export_prefix("acme", manifest.job_id))


@pytest.mark.parametrize(
    ("file_name", "message"),
    [
        ("..", "not a plain file name"),
        ("../orders.csv", "not a plain file name"),
        ("manifest.json", "would overwrite the manifest"),
    ],
)
def test_download_refuses_a_manifest_naming_anything_but_plain_file_names(
    local: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str], file_name: str, message: str
) -> None:
    # Given a finished export whose manifest was then altered in the bucket
    assert cli(local, "export", "acme", "--entities", "orders", "--out", str(tmp_path / "ok"), "--json") == 0
    job_id = json.loads(capsys.readouterr().out)["job_id"]
    s3, bucket = local.clients().s3, local.name(Resource.EXPORT_BUCKET)
    key = manifest_key("acme", job_id)
    document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    document["files"][0]["file_name"] = file_name
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document).encode())
    # When it is downloaded
    out = tmp_path / "out"
    code = cli(local, "export", "acme", "--job", job_id, "--out", str(out))
    # Then the command refuses in one line and writes nothing
    err = capsys.readouterr().err
    assert code == 1
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() or list(out.iterdir()) == []


def invoke_export_function(local: Target, payload: bytes) -> dict[str, object]:
    reply = local.clients().lambda_.invoke(
        FunctionName=local.name(Resource.EXPORT_FUNCTION), InvocationType="RequestResponse", Payload=payload
    )
    assert reply.get("FunctionError")
    body = json.loads(reply["Payload"].read())
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"[1, 2]", "must be a JSON object, got list"),
        (b'"x"', "must be a JSON object, got str"),
        (
            b'{"tenant_id": "acme", "entities": ["orders"], "owner": "me"}',
            "unknown field(s) in the export request: owner",
        ),
        (
            b'{"tenant_id": "acme", "entities": ["orders"], "job_id": "imp-0123456789abcdef0123456789ab"}',
            "unknown field(s) in the export request: job_id",
        ),
        (
            b'{"tenant_id": "acme", "job_id": "imp-0123456789abcdef0123456789ab", "continue": true}',
            "is not an export job id",
        ),
    ],
)
def test_the_export_function_refuses_hostile_payloads_plainly(
    local: Target, payload: bytes, message: str
) -> None:
    body = invoke_export_function(local, payload)
    assert message in str(body["errorMessage"])
    assert body.get("errorType") not in ("AttributeError", "TypeError", "KeyError")


def test_export_job_ids_are_namespaced_and_a_request_id_maps_to_one_job(local: Target) -> None:
    request = {"tenant_id": "acme", "entities": ["orders"], "request_id": "retry-token-1"}
    replies = [
        json.loads(
            local.clients()
            .lambda_.invoke(
                FunctionName=local.name(Resource.EXPORT_FUNCTION), Payload=json.dumps(request).encode()
            )["Payload"]
            .read()
        )
        for _ in range(2)
    ]
    assert replies[0]["job_id"] == replies[1]["job_id"]
    assert replies[0]["job_id"].startswith("export-")
    assert "retry-token-1" not in replies[0]["job_id"]


def test_an_export_outside_the_tenants_home_region_is_refused(local: Target) -> None:
    # Given a tenant that moved to eu-west-1 and whose old region still lists it
    directory = local.directory()
    directory.create("moved", "us-east-1")
    directory.set_status("moved", "active", home_region="eu-west-1")
    # When its export is asked of the old region's function
    body = invoke_export_function(local, b'{"tenant_id": "moved", "entities": ["orders"]}')
    # Then it is refused with the region to ask instead
    assert "lives in eu-west-1, not us-east-1" in str(body["errorMessage"])


def test_an_export_that_continues_itself_finishes_on_the_local_aws(
    local: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from functions.export import handler
    from tenant_pipeline.export import ExportRunner, LambdaContinuation

    # Given an export function that keeps more time in reserve than it ever has left: it exports one
    # entity per invocation and continues with an asynchronous invoke of itself
    local.directory().create("initech", local.region)
    seed(local, "initech", "contacts", [contact(i) for i in range(30)])
    seed(local, "initech", "orders", [order(i) for i in range(20)])
    monkeypatch.setattr(handler, "ExportRunner", functools.partial(ExportRunner, reserve_ms=10**9))
    dispatched: list[dict[str, object]] = []
    dispatch = LambdaContinuation.dispatch

    def recording_dispatch(self: LambdaContinuation, payload: dict[str, object]) -> None:
        dispatched.append(payload)
        dispatch(self, payload)

    monkeypatch.setattr(LambdaContinuation, "dispatch", recording_dispatch)

    # When the export runs and the command waits for it
    code = cli(
        local,
        "export",
        "initech",
        "--entities",
        "contacts,orders",
        "--out",
        str(tmp_path),
        "--wait",
        "--json",
    )

    # Then the second entity was exported by the continuation, and the files are complete
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "SUCCEEDED"
    assert len(dispatched) == 1
    assert dispatched[0]["job_id"] == result["job_id"]
    counts = {file["entity"]: file["record_count"] for file in result["files"]}
    assert counts == {"contacts": 30, "orders": 20}
