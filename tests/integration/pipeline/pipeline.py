"""The whole import path on moto, driven the way AWS drives it: S3 put, ingest queue, router, validation
queue, validator, batches queue, loader. Used by the import flow and fault tests."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import pytest

from functions.import_load import handler as load_handler
from functions.import_reconcile import handler as reconcile_handler
from functions.import_route import handler as route_handler
from functions.import_validate import handler as validate_handler
from tenant_pipeline import topology
from tenant_pipeline.aws import AwsClients
from tenant_pipeline.cold_start import ColdStart
from tenant_pipeline.errors import UnknownTenantError
from tenant_pipeline.imports.load import BatchLoader
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.store.jobs import Job, JobsLedger
from tenant_pipeline.store.rejects import RejectsLog
from tenant_pipeline.store.tenant_data import TenantDataStore
from tenant_pipeline.store.tenants import TenantDirectory
from tenant_pipeline.topology import Resource

from .conftest import Stack
from .pump import Pump

CONTACT_COLUMNS = ("id", "email", "name", "age", "created_at", "country", "notes")


def contact_row(n: int, *, valid: bool = True, notes: str = "") -> list[str]:
    email = f"user{n}@example.com" if valid else f"user{n}-at-example"
    return [f"c-{n}", email, f"Name {n}", str(20 + n % 50), "2025-01-02T03:04:05Z", "GB", notes]


def contacts_csv(rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CONTACT_COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode()


@dataclass(frozen=True)
class TenantRecords:
    """The tenant store read as every reader reads it: over the shards the tenant's entry records."""

    store: TenantDataStore
    tenants: TenantDirectory

    def shard_count(self, tenant_id: str) -> int:
        try:
            return self.tenants.get(tenant_id).shard_count
        except UnknownTenantError:  # no entry: look in every shard a tenant may have
            return topology.MAX_SHARD_COUNT

    def count_entity(self, tenant_id: str, entity: str) -> int:
        return self.store.count_entity(tenant_id, entity, self.shard_count(tenant_id))

    def query_entity(self, tenant_id: str, entity: str) -> Iterator[dict[str, Any]]:
        return self.store.query_entity(tenant_id, entity, self.shard_count(tenant_id))

    def query_items(self, tenant_id: str, entity: str) -> Iterator[dict[str, Any]]:
        return self.store.query_items(tenant_id, entity, self.shard_count(tenant_id))


@dataclass
class Pipeline:
    stack: Stack
    route: Pump = field(init=False)
    validation: Pump = field(init=False)
    batches: Pump = field(init=False)

    def __post_init__(self) -> None:
        sources = {source.queue.queue: source for source in topology.EVENT_SOURCES}
        self.route = Pump(
            self.stack.clients.sqs,
            self.stack.url(Resource.INGEST_QUEUE),
            route_handler.lambda_handler,
            sources[Resource.INGEST_QUEUE].batch_size,
        )
        self.validation = Pump(
            self.stack.clients.sqs,
            self.stack.url(Resource.VALIDATION_QUEUE),
            validate_handler.lambda_handler,
            sources[Resource.VALIDATION_QUEUE].batch_size,
        )
        self.batches = Pump(
            self.stack.clients.sqs,
            self.stack.url(Resource.BATCHES_QUEUE),
            load_handler.lambda_handler,
            sources[Resource.BATCHES_QUEUE].batch_size,
        )

    @property
    def tenants(self) -> TenantDirectory:
        return TenantDirectory(self.stack.settings.name(Resource.TENANTS_TABLE), self.stack.clients.dynamodb)

    @property
    def jobs(self) -> JobsLedger:
        return JobsLedger(self.stack.settings.name(Resource.JOBS_TABLE), self.stack.clients.dynamodb)

    @property
    def data(self) -> TenantRecords:
        store = TenantDataStore(
            self.stack.settings.name(Resource.TENANT_DATA_TABLE), self.stack.clients.dynamodb
        )
        return TenantRecords(store, self.tenants)

    def scanned_items(self, tenant_id: str) -> list[dict[str, Any]]:
        """Every item of the tenant, by scanning the table: no reader's shard count involved."""
        found = []
        paginator = self.stack.clients.dynamodb.get_paginator("scan")
        for page in paginator.paginate(TableName=self.stack.settings.name(Resource.TENANT_DATA_TABLE)):
            found += [item for item in page["Items"] if item["pk"]["S"].startswith(f"{tenant_id}#")]
        return found

    @property
    def rejects(self) -> RejectsLog:
        return RejectsLog(self.stack.settings.name(Resource.JOBS_TABLE), self.stack.clients.dynamodb)

    def redeliver(self, key: str) -> None:
        """S3 delivers the notification of the object's current version again."""
        self.stack.clients.sqs.send_message(
            QueueUrl=self.stack.url(Resource.INGEST_QUEUE), MessageBody=notification_of(self, key)
        )

    def put(self, key: str, body: bytes, metadata: dict[str, str] | None = None) -> None:
        self.stack.clients.s3.put_object(
            Bucket=self.stack.bucket, Key=key, Body=body, Metadata=metadata or {}
        )

    def validate_uploads(self) -> int:
        """Route the notifications waiting in the ingest queue, then validate them; returns the
        validation requests received."""
        self.route.drain()
        return self.validation.drain()

    def run(self) -> None:
        """Drain every queue until none has work (loader completions may follow validations)."""
        for _ in range(20):
            if not (self.route.drain() + self.validation.drain() + self.batches.drain()):
                return
        raise AssertionError("pipeline did not settle")

    def only_job(self, tenant: str) -> Job:
        (job,) = self.jobs.list_for_tenant(tenant)
        return self.jobs.get(job.job_id)

    def report_lines(self, job: Job) -> list[list[str]]:
        assert job.report_uri is not None
        bucket, key = job.report_uri.removeprefix("s3://").split("/", 1)
        body = self.stack.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        return list(csv.reader(io.StringIO(body)))

    def queue_depth(self, resource: Resource) -> int:
        attributes = self.stack.clients.sqs.get_queue_attributes(
            QueueUrl=self.stack.url(resource),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


def load_through(
    monkeypatch: pytest.MonkeyPatch, store_factory: Callable[[str, Any, int], TenantDataStore]
) -> None:
    """Make the loader write through `store_factory` (a store over a faulty client, say)."""

    def build() -> load_handler.Dependencies:
        settings = PipelineSettings.from_env()
        loader = BatchLoader.from_settings(settings, AwsClients(), store_factory=store_factory)
        return load_handler.Dependencies(loader=loader)

    monkeypatch.setattr(load_handler, "dependencies", ColdStart(build))


def reset_handlers() -> None:
    """Handlers build their clients once per cold start; each test is a cold start."""
    route_handler.dependencies.reset()
    validate_handler.dependencies.reset()
    load_handler.dependencies.reset()
    reconcile_handler.dependencies.reset()


def notification_of(pipeline: Pipeline, key: str) -> str:
    """The S3 notification body SQS would deliver for an existing object."""
    head = pipeline.stack.clients.s3.head_object(Bucket=pipeline.stack.bucket, Key=key)
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": pipeline.stack.bucket},
                        "object": {
                            "key": quote_plus(key),
                            "size": head["ContentLength"],
                            "eTag": head["ETag"].strip('"'),
                        },
                    },
                }
            ]
        }
    )
