"""Shared fixtures of the hardening suites: the import path on moto, the local AWS for migrations,
and the bookkeeping they assert.

The hostile-input and isolation suites share one moto world per module (building the resources is
most of a pipeline test's cost); each case gets its own tenant, so counts stay exact per case. The
fault matrix, which patches the pipeline's classes, takes a fresh world per test (`stack`).

The local AWS (`local_aws`: a moto server, both regions, pumps running the handlers in-process) and
the in-process moto mock must never be alive together: the mock intercepts every botocore call in
the process, the pumps' included. So `local_aws` is module-scoped, and a module defines the tests that
use it after all of its mock-based tests.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from itertools import count

import pytest
from moto import mock_aws

from functions.migration import handler as migration_handler
from tenant_pipeline.aws import AwsClients
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.store.jobs import Job, JobStatus
from tenant_pipeline.topology import Resource
from tenant_telemetry.testing import InMemoryTelemetry, in_memory_telemetry
from tenantctl.local.clients import local_client
from tenantctl.local.provision import LOCAL_ROLE_NAME
from tenantctl.local.stack import LocalAws, LocalAwsOptions
from tenantctl.migrate_command import provision_state_machine
from tests.integration.migration.conftest import SOURCE, TARGET, Local, phases
from tests.integration.pipeline.conftest import REGION, Stack, _create, aws_env, stack
from tests.integration.pipeline.pipeline import Pipeline, reset_handlers

AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
_serial = count(1)
__all__ = ["SOURCE", "TARGET", "aws_env", "phases", "stack"]  # fixtures and names shared with the suites


@pytest.fixture(scope="module")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    """The local AWS with the migration state machine in both regions (the migration suites' world)."""
    saved = dict(os.environ)
    forget_local_clients()
    aws = LocalAws(LocalAwsOptions(port=0, state_dir=tmp_path_factory.mktemp("local-aws")))
    aws.start()
    try:
        iam = local_client("iam", SOURCE, aws.endpoint_url)
        role_arn = iam.get_role(RoleName=LOCAL_ROLE_NAME)["Role"]["Arn"]
        for region in (SOURCE, TARGET):
            provision_state_machine(aws.endpoint_url, region, role_arn=role_arn)
        yield Local(aws, aws.endpoint_url)
    finally:
        aws.stop()
        forget_local_clients()
        os.environ.clear()
        os.environ.update(saved)


def forget_local_clients() -> None:
    """The primary region's handlers run as this process's own modules, whose clients are cached per cold
    start: drop those bound to a local AWS, so no later suite of the session talks to a stopped one."""
    reset_handlers()
    migration_handler.dependencies.reset()


@pytest.fixture(scope="module")
def shared_stack() -> Iterator[Stack]:
    """One moto world (every resource the topology declares) for a whole module."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in AWS_ENVIRONMENT.items():
            patch.setenv(name, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        with mock_aws():
            clients = AwsClients(region=REGION)
            urls = _create(clients)
            for resource in Resource:
                patch.setenv(resource.env_var, urls.get(resource) or resource.local_name(REGION))
            reset_handlers()
            yield Stack(clients=clients, settings=PipelineSettings.from_env(), queue_urls=urls)
            reset_handlers()


@pytest.fixture
def telemetry() -> Iterator[InMemoryTelemetry]:
    with in_memory_telemetry() as memory:
        yield memory


@pytest.fixture
def shared_pipeline(shared_stack: Stack, telemetry: InMemoryTelemetry) -> Pipeline:
    """The shared world's pipeline. Its handlers stay warm across tests (a cold start costs more than
    the rest of a case); a test that changes their settings calls `reset_handlers()` before and after."""
    return Pipeline(shared_stack)


def fresh_tenant_id(label: str) -> str:
    """A tenant id of its own for one case (valid pattern, unique within the process)."""
    slug = re.sub(r"[^a-z0-9-]+", "-", label.lower()).strip("-")[:40] or "case"
    return f"h{next(_serial)}-{slug}"


def job_for_key(pipeline: Pipeline, tenant_id: str, key: str) -> Job:
    """The one job the ledger holds for the object `key` (found through the tenant's job list)."""
    uri = f"s3://{pipeline.stack.bucket}/{key}"
    jobs = [job for job in pipeline.jobs.list_for_tenant(tenant_id, limit=500) if job.source_uri == uri]
    assert len(jobs) == 1, f"expected one job for {key!r}, found {len(jobs)}"
    return pipeline.jobs.get(jobs[0].job_id)


def assert_rows_accounted(pipeline: Pipeline, job: Job) -> None:
    """Nothing lost: stored + reported rows = rows read, and the table holds exactly the stored ones.

    A file refused or rejected as a whole stores nothing, and its report says why."""
    if job.status in (JobStatus.FAILED_VALIDATION, JobStatus.FAILED) and not job.batches_total:
        assert job.stored == 0 and job.error, job.to_dict()
        assert pipeline.data.count_entity(job.tenant_id, job.entity_type or "contacts") == 0
        assert len(pipeline.report_lines(job)) > 1
        return
    invalid = job.invalid or 0
    total = job.total_rows or 0
    assert job.stored + invalid == total, job.to_dict()
    assert (job.batches_done, job.failed_batches) == (job.batches_total or 0, ()), job.to_dict()
    assert pipeline.data.count_entity(job.tenant_id, job.entity_type or "contacts") == job.stored
    if job.report_uri is not None:
        rows_reported = {line[0] for line in pipeline.report_lines(job)[1:] if line[0]}
        assert len(rows_reported) == invalid
