"""Hostile uploads, each through the real path on moto: put into the ingest bucket, S3 notification,
ingest queue, validator, batches queue, loader. Each ends with a job whose status and reason name what
is wrong (the job's `error`, or the error report's line for the row), and with every row accounted for:
never a crash, a hang, a silent skip or a partial load the job does not explain."""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tenant_pipeline.store.jobs import JobStatus
from tenant_pipeline.store.tenants import TenantStatus
from tenant_pipeline.topology import Tunable
from tenant_telemetry.testing import InMemoryTelemetry
from tests.integration.pipeline.conftest import point_values
from tests.integration.pipeline.pipeline import Pipeline, contact_row, contacts_csv, reset_handlers

from .conftest import assert_rows_accounted, fresh_tenant_id, job_for_key

CONTACTS = "tenants/{t}/imports/contacts/"
ORDERS = "tenants/{t}/imports/orders/"
HEADER = "id,email,name,age,created_at,country,notes"
ORDERS_HEADER = "id,contact_id,amount,currency,status,placed_at"
GOOD = contacts_csv(contact_row(n) for n in range(4))

Body = bytes | Callable[[], bytes]


def csv_of(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


def good_lines(count: int, start: int = 0) -> list[str]:
    return [
        f"c-{n},user{n}@example.com,Name {n},30,2025-01-02T03:04:05Z,GB," for n in range(start, start + count)
    ]


def order_line(order_id: str, amount: str = "10.50", placed_at: str = "2024-05-01T10:00:00Z") -> str:
    return f"{order_id},c-1,{amount},EUR,paid,{placed_at}"


def contact_json(n: int, **overrides: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id": f"c-{n}",
        "email": f"user{n}@example.com",
        "name": f"Name {n}",
        "created_at": "2025-01-02T03:04:05Z",
    }
    record.update(overrides)
    return record


def jsonl_of(*records: object) -> bytes:
    return b"\n".join(json.dumps(record).encode() for record in records) + b"\n"


def ten_mb_line() -> bytes:
    return csv_of(
        HEADER, *good_lines(2), "c-9,big@example.com,Big,30,2025-01-02T03:04:05Z,GB," + "x" * (10 * 1024**2)
    )


def gzip_bomb() -> bytes:
    """About 8 MB of blank lines and rows compressed to a few kilobytes."""
    return gzip.compress(csv_of(HEADER, *good_lines(2)) + b"\r\n" * (4 * 1024**2), compresslevel=9)


def many_columns() -> bytes:
    names = [*HEADER.split(","), *(f"extra{n}" for n in range(1000))]
    return csv_of(",".join(names), "c-1,a@b.io,A,1,2025-01-02T03:04:05Z,GB," + "," * 1000)


def deep_json() -> bytes:
    return json.dumps([contact_json(1, notes="x")]).encode().replace(b'"x"', b"[" * 5000 + b"]" * 5000)


@dataclass(frozen=True)
class Case:
    """One hostile upload and the outcome it must have."""

    id: str
    file: str
    body: Body
    status: JobStatus
    reason: str
    """A fragment of the job's `error` (refused or rejected files), or of the report line of `line`."""
    field: str | None = None
    """The report's `field` of a whole-file refusal (`key`, `entity`, `tenant`, `file`, ...)."""
    line: int | None = None
    """For a partial load: the file line whose report entry carries `reason`."""
    rows: int | None = None
    """Rows read (`total_rows`), when rows were read."""
    stored: int | None = None
    tenant_status: TenantStatus | None = None
    home_region: str | None = None
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    marks: tuple[pytest.MarkDecorator, ...] = ()

    def payload(self) -> bytes:
        return self.body() if callable(self.body) else self.body


def rejected(id: str, file: str, body: Body, reason: str, **extra: object) -> Case:
    """A file refused as a whole by validation: FAILED_VALIDATION, nothing loaded."""
    return Case(id, file, body, JobStatus.FAILED_VALIDATION, reason, field="file", stored=0, **extra)  # type: ignore[arg-type]


def refused(id: str, file: str, body: Body, reason: str, field: str, **extra: object) -> Case:
    """An import refused before any row is read: FAILED, nothing loaded."""
    return Case(id, file, body, JobStatus.FAILED, reason, field=field, rows=0, stored=0, **extra)  # type: ignore[arg-type]


def partial(id: str, file: str, body: Body, reason: str, *, line: int, rows: int, stored: int) -> Case:
    """Some rows invalid (under the tenant's limit): PARTIAL, the valid rows stored, the others reported."""
    return Case(id, file, body, JobStatus.PARTIAL, reason, line=line, rows=rows, stored=stored)


C = CONTACTS
CASES = [
    # -- malformed CSV ----------------------------------------------------------------------------
    rejected(
        "csv-unbalanced-quote",
        C + "quote.csv",
        csv_of(HEADER, *good_lines(2), 'c-7,"a@b.io,A,1,2025-01-02T03:04:05Z,GB,', *good_lines(3, 10)),
        "unbalanced quote",
    ),
    partial(
        "csv-ragged-row-too-many-fields",
        C + "ragged-long.csv",
        csv_of(HEADER, *good_lines(3), "c-8,a@b.io,A,1,2025-01-02T03:04:05Z,GB,note,surplus"),
        "wrong column count: 8, expected 7",
        line=5,
        rows=4,
        stored=3,
    ),
    partial(
        "csv-ragged-row-too-few-fields",
        C + "ragged-short.csv",
        csv_of(HEADER, *good_lines(3), "c-8,a@b.io"),
        "wrong column count: 2, expected 7",
        line=5,
        rows=4,
        stored=3,
    ),
    partial(
        "csv-stray-nul-byte",
        C + "nul.csv",
        csv_of(HEADER, *good_lines(3), "c-8,a@b.io,Nul\x00Name,1,2025-01-02T03:04:05Z,GB,"),
        "NUL",
        line=5,
        rows=4,
        stored=3,
    ),
    partial(
        "csv-duplicate-primary-key",
        C + "dupe.csv",
        csv_of(HEADER, *good_lines(3), good_lines(1)[0]),
        "duplicate primary key",
        line=5,
        rows=4,
        stored=3,
    ),
    # -- encodings ---------------------------------------------------------------------------------
    rejected(
        "encoding-latin-1",
        C + "latin1.csv",
        (HEADER + "\r\nc-1,zoe@b.io,Zoé,1,2025-01-02T03:04:05Z,FR,\r\n").encode("latin-1"),
        "not valid UTF-8: byte 0xe9 on line 2",
    ),
    rejected(
        "encoding-utf-16-with-bom",
        C + "utf16.csv",
        csv_of(HEADER, *good_lines(2)).decode().encode("utf-16"),
        "UTF-16",
    ),
    Case(
        "encoding-utf-8-bom-is-tolerated",
        C + "bom.csv",
        b"\xef\xbb\xbf" + csv_of(HEADER, *good_lines(3)),
        JobStatus.SUCCEEDED,
        "",
        rows=3,
        stored=3,
    ),
    # -- empty and header problems ----------------------------------------------------------------
    rejected("empty-zero-byte-file", C + "empty.csv", b"", "file is empty"),
    rejected("header-only", C + "header.csv", csv_of(HEADER), "no data rows"),
    rejected("blank-lines-only", C + "blank.csv", b"\r\n\r\n\r\n", "empty"),
    rejected(
        "header-duplicate-column",
        C + "dupcol.csv",
        csv_of("id,email,email,name,created_at", "c-1,a@b.io,a@b.io,A,2025-01-02T03:04:05Z"),
        "header names column 'email' more than once",
    ),
    rejected(
        "header-missing-required-column",
        C + "missing.csv",
        csv_of("id,name,created_at", "c-1,A,2025-01-02T03:04:05Z"),
        "'email'",
    ),
    rejected(
        "header-unknown-column",
        C + "unknown.csv",
        csv_of("id,email,name,created_at,shoe_size", "c-1,a@b.io,A,2025-01-02T03:04:05Z,9"),
        "'shoe_size'",
    ),
    rejected(
        "header-empty-column-name",
        C + "noname.csv",
        csv_of("id,email,,name,created_at", "c-1,a@b.io,x,A,2025-01-02T03:04:05Z"),
        "header column 3 has no name",
    ),
    rejected("header-very-many-columns", C + "wide.csv", many_columns, "the limit is 256"),
    # -- sizes -----------------------------------------------------------------------------------------
    partial(
        "csv-10-mb-line",
        C + "longline.csv",
        ten_mb_line,
        "line too long",
        line=4,
        rows=3,
        stored=2,
    ),
    rejected(
        "gzip-bomb",
        C + "bomb.csv.gz",
        gzip_bomb,
        "decompressed size exceeds the 1048576-byte limit",
        env={Tunable.MAX_DECOMPRESSED_BYTES.value: str(1024**2)},
    ),
    rejected(
        "gzip-truncated",
        C + "cut.csv.gz",
        lambda: gzip.compress(csv_of(HEADER, *good_lines(50)))[:-40],
        "truncated gzip",
    ),
    rejected("gzip-not-gzip-at-all", C + "plain.csv.gz", csv_of(HEADER, *good_lines(2)), "gzip"),
    refused(
        "object-over-the-configured-size-limit",
        C + "large.csv",
        GOOD,
        "over the import limit of 100 bytes for a plain CSV or JSON Lines file",
        "size",
        env={Tunable.MAX_LEGGED_OBJECT_BYTES.value: "100"},
    ),
    refused(
        "gzip-over-the-configured-size-limit",
        C + "large.csv.gz",
        lambda: gzip.compress(GOOD),
        "over the import limit of 100 bytes for a gzip or JSON array file",
        "size",
        env={Tunable.MAX_OBJECT_BYTES.value: "100"},
    ),
    # -- JSON ------------------------------------------------------------------------------------------
    rejected("json-object-not-array", C + "object.json", json.dumps(contact_json(1)).encode(), "JSON array"),
    partial(
        "json-array-of-numbers",
        C + "numbers.json",
        json.dumps([contact_json(1), 2, contact_json(3)]).encode(),
        "not a JSON object",
        line=1,
        rows=3,
        stored=2,
    ),
    rejected("json-deeply-nested", C + "deep.json", deep_json, "nested"),
    rejected(
        "json-array-truncated",
        C + "cut.json",
        json.dumps([contact_json(1), contact_json(2)]).encode()[:-20],
        "invalid JSON at line 1: Unterminated string",
    ),
    partial(
        "jsonl-line-not-an-object",
        C + "lines.jsonl",
        jsonl_of(contact_json(1), ["c-2"], contact_json(3)),
        "not a JSON object (got an array)",
        line=2,
        rows=3,
        stored=2,
    ),
    partial(
        "jsonl-invalid-json-line",
        C + "broken.jsonl",
        jsonl_of(contact_json(1)) + b'{"id": "c-2", "email": \n' + jsonl_of(contact_json(3)),
        "invalid JSON",
        line=2,
        rows=3,
        stored=2,
    ),
    partial(
        "jsonl-nan-literal",
        C + "nan.jsonl",
        jsonl_of(contact_json(1)) + b'{"id":"c-2","email":"a@b.io","name":"N","age":NaN,'
        b'"created_at":"2025-01-02T03:04:05Z"}\n',
        "invalid JSON",
        line=2,
        rows=2,
        stored=1,
    ),
    # -- values ------------------------------------------------------------------------------------------
    partial(
        "number-over-schema-maximum",
        C + "old.csv",
        csv_of(HEADER, *good_lines(3), "c-8,a@b.io,Old,151,2025-01-02T03:04:05Z,GB,"),
        "maximum",
        line=5,
        rows=4,
        stored=3,
    ),
    partial(
        "number-out-of-any-range",
        C + "huge.csv",
        csv_of(HEADER, *good_lines(3), "c-8,a@b.io,Huge," + "9" * 400 + ",2025-01-02T03:04:05Z,GB,"),
        "age: out of range",
        line=5,
        rows=4,
        stored=3,
    ),
    partial(
        "amount-exponent-out-of-range",
        ORDERS + "exp.csv",
        csv_of(ORDERS_HEADER, order_line("o-1"), order_line("o-2"), order_line("o-3", amount="1e999999")),
        "amount: wrong type: not a decimal number",
        line=4,
        rows=3,
        stored=2,
    ),
    partial(
        "amount-negative",
        ORDERS + "neg.csv",
        csv_of(ORDERS_HEADER, order_line("o-1"), order_line("o-2"), order_line("o-3", amount="-5.00")),
        "minimum",
        line=4,
        rows=3,
        stored=2,
    ),
    partial(
        "date-2021-02-30",
        C + "feb30.csv",
        csv_of(HEADER, *good_lines(3), "c-8,a@b.io,Feb,1,2021-02-30T00:00:00Z,GB,"),
        "created_at: bad format: impossible date-time (day is out of range for month)",
        line=5,
        rows=4,
        stored=3,
    ),
    partial(
        "date-without-time-zone",
        ORDERS + "naive.csv",
        csv_of(
            ORDERS_HEADER,
            order_line("o-1"),
            order_line("o-2"),
            order_line("o-3", placed_at="2024-05-01 10:00"),
        ),
        "placed_at: bad format: date-time needs a time and a time zone",
        line=4,
        rows=3,
        stored=2,
    ),
    partial(
        "field-over-max-length",
        C + "notes.csv",
        csv_of(HEADER, *good_lines(3), "c-8,a@b.io,Long,1,2025-01-02T03:04:05Z,GB," + "n" * 2001),
        "notes: too long: 2001 characters (at most 2000)",
        line=5,
        rows=4,
        stored=3,
    ),
    Case(
        "too-many-invalid-rows",
        C + "mostly-bad.csv",
        csv_of(
            HEADER, *good_lines(1), *(f"c-{n}x,not-an-email,N,1,2025-01-02T03:04:05Z,GB," for n in range(3))
        ),
        JobStatus.FAILED_VALIDATION,
        "3 of 4 rows are invalid (75.0%), over the tenant's limit of 50.0%; nothing was loaded",
        rows=4,
        stored=0,
    ),
    # -- entity and format -----------------------------------------------------------------------------
    refused(
        "unknown-entity",
        "tenants/{t}/imports/invoices/a.csv",
        GOOD,
        "unknown entity type 'invoices'",
        "entity",
    ),
    refused("unsupported-extension", C + "a.xlsx", GOOD, "unsupported file type 'a.xlsx'", "format"),
    refused("no-extension", C + "contacts", GOOD, "unsupported file type 'contacts'", "format"),
    # -- tenants ----------------------------------------------------------------------------------------
    refused(
        "tenant-suspended",
        C + "a.csv",
        GOOD,
        "tenant is suspended",
        "tenant",
        tenant_status=TenantStatus.SUSPENDED,
    ),
    refused(
        "tenant-migrating",
        C + "a.csv",
        GOOD,
        "tenant is migrating",
        "tenant",
        tenant_status=TenantStatus.MIGRATING,
    ),
    refused(
        "tenant-moved-to-another-region",
        C + "a.csv",
        GOOD,
        "now lives in eu-west-1, not us-east-1",
        "tenant",
        home_region="eu-west-1",
    ),
    # -- keys ---------------------------------------------------------------------------------------------
    refused("key-dot-dot-segment", C + "../a.csv", GOOD, "'..'", "key"),
    refused("key-dot-segment", "tenants/{t}/imports/./contacts/a.csv", GOOD, "'.'", "key"),
    refused("key-encoded-slash", C + "..%2Fglobex%2Fa.csv", GOOD, "may contain only", "key"),
    refused(
        "key-unicode-look-alike-entity", "tenants/{t}/imports/c\u043entacts/a.csv", GOOD, "look-alike", "key"
    ),
    refused("key-unicode-look-alike-file", C + "\u0430.csv", GOOD, "look-alike", "key"),
    refused("key-right-to-left-override", C + "a\u202ecsv.exe", GOOD, "control characters", "key"),
    refused("key-other-tenant-as-entity", "tenants/{t}/imports/globex/a.csv", GOOD, "'globex'", "entity"),
    refused("key-other-tenant-in-sub-folder", C + "globex/a.csv", GOOD, "no sub-folders", "key"),
    refused(
        "key-other-tenant-after-dot-dot",
        "tenants/{t}/imports/../../globex/imports/contacts/a.csv",
        GOOD,
        "'..'",
        "key",
    ),
    refused("key-empty-segment", "tenants/{t}/imports//a.csv", GOOD, "empty path segment", "key"),
    refused("key-hidden-file", C + ".hidden.csv", GOOD, "must not start with '.'", "key"),
    refused("key-directory-marker", C, b"", "folder marker", "key"),
]


def _case_params() -> list[object]:
    return [pytest.param(case, id=case.id, marks=case.marks) for case in CASES]


@pytest.fixture
def other_tenant(shared_pipeline: Pipeline) -> str:
    """`globex`, with data of its own that no hostile upload may touch."""
    pipeline = shared_pipeline
    if not pipeline.jobs.list_for_tenant("globex"):
        pipeline.tenants.create("globex", "us-east-1")
        pipeline.put("tenants/globex/imports/contacts/own.csv", GOOD)
        pipeline.run()
    return "globex"


@pytest.mark.parametrize("case", _case_params())
def test_a_hostile_upload_ends_with_its_specific_reason(
    shared_pipeline: Pipeline,
    other_tenant: str,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    case: Case,
) -> None:
    pipeline = shared_pipeline
    globex_before = (
        pipeline.data.count_entity(other_tenant, "contacts"),
        len(pipeline.jobs.list_for_tenant(other_tenant)),
    )
    # Given a tenant of its own, in the case's state, and the case's settings
    tenant = fresh_tenant_id(case.id)
    pipeline.tenants.create(tenant, case.home_region or "us-east-1")
    if case.tenant_status is not None:
        pipeline.tenants.set_status(tenant, case.tenant_status)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    key = case.file.format(t=tenant)
    # When the object lands in the ingest bucket and the pipeline runs
    pipeline.put(key, case.payload())
    if case.env:
        reset_handlers()  # a cold start reads the case's settings
        request.addfinalizer(reset_handlers)  # and the next case starts cold again with the defaults
    pipeline.run()
    # Then the job explains the outcome, nothing crashed, and every row is accounted for
    job = job_for_key(pipeline, tenant, key)
    assert job.status is case.status, job.to_dict()
    assert pipeline.validation.crashed == pipeline.batches.crashed == 0
    assert pipeline.validation.failures == pipeline.batches.failures == 0
    lines = pipeline.report_lines(job)
    assert lines[0] == ["line", "field", "value", "reason"]
    if case.field is not None:
        assert job.error and case.reason in job.error, job.error
        assert lines[-1][1] == case.field and lines[-1][3] == job.error
    elif case.line is not None:
        assert job.error is None
        reasons = [f"{line[1]}: {line[3]}" for line in lines[1:] if line[0] == str(case.line)]
        assert any(case.reason in reason for reason in reasons), lines
    elif case.status is JobStatus.FAILED_VALIDATION:
        assert job.error is not None and case.reason in job.error, job.error
        assert len(lines) - 1 == job.invalid  # the rows' own reasons; the job says why none loaded
    else:
        assert job.error is None and lines == [lines[0]]
    if case.rows is not None:
        assert job.total_rows == case.rows
    if case.stored is not None:
        assert job.stored == case.stored
    assert job.finished_at is not None
    assert_rows_accounted(pipeline, job)
    # and the other tenant is untouched
    assert (
        pipeline.data.count_entity(other_tenant, "contacts"),
        len(pipeline.jobs.list_for_tenant(other_tenant)),
    ) == globex_before


def test_there_are_at_least_forty_cases() -> None:
    assert len({case.id for case in CASES}) == len(CASES) >= 40


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("tenants/ACME/imports/contacts/a.csv", id="tenant-upper-case"),
        pytest.param("tenants/\u0430cme/imports/contacts/a.csv", id="tenant-cyrillic-look-alike"),
        pytest.param("tenants/-acme/imports/contacts/a.csv", id="tenant-leading-hyphen"),
        pytest.param("tenants/acme%2Fglobex/imports/contacts/a.csv", id="tenant-encoded-slash"),
        pytest.param("tenants/acme/exports/contacts/a.csv", id="not-under-imports"),
    ],
)
def test_an_unattributable_key_is_counted_and_makes_no_job(
    shared_pipeline: Pipeline, telemetry: InMemoryTelemetry, key: str
) -> None:
    # The tenant cannot be named from such a key, so there is no tenant to give a job to: the
    # validator records it for the operator, counts it (data.import.errors, rejected_upload) and loads
    # nothing.
    pipeline = shared_pipeline
    pipeline.put(key, GOOD)
    pipeline.run()
    assert pipeline.validation.crashed == pipeline.validation.failures == 0
    assert pipeline.jobs.list_for_tenant("acme") == []
    assert pipeline.data.count_entity("acme", "contacts") == 0
    errors = point_values(telemetry.metrics()["data.import.errors"])
    assert sum(value for attrs, value in errors if attrs["import.error_type"] == "rejected_upload") == 1
