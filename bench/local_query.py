"""`local_export_beside_large_tenant`: one tenant's export beside another tenant's 500k rows ÷ on its own.

A child process runs the local AWS's server in-process and seeds a tenant with 2,000 contacts as
the loader writes them; it times that tenant's export (the `bench.export` job, checksum checked;
the quickest of three) on a table holding nothing else, then puts 500k contacts of another tenant
into the same table and times the same export again. The large tenant's rows go straight into
the emulated table through moto's backend (`moto.backends.get_backend`), which is quicker to set
up than 20,000 BatchWriteItem requests and stores the same items; the exports read through the
DynamoDB API as always. Both exports must find exactly the small tenant's records.
"""

from __future__ import annotations

import json
import os
from typing import Any

from bench.harness.rss import run_in_child

RECORDS = 2_000
OTHER_TENANT_ROWS = 500_000
OTHER_TENANT = "bench-large"
ACCOUNT_ID = "123456789012"
REPEATS = 3


class ExportCountError(AssertionError):
    """An export did not find exactly the small tenant's records."""


def run_exports(records: int, other_rows: int) -> dict[str, Any]:
    """Child: the small tenant's export on a table of its own, then beside the large tenant."""
    from bench import export
    from bench.harness.local_aws import CREDENTIALS, REGION
    from tenantctl.local.clients import local_client
    from tenantctl.local.provision import provision_region
    from tenantctl.local.server import LocalServer

    server = LocalServer(port=0)
    endpoint = server.start()
    try:
        env = provision_region(endpoint, REGION).env()
        os.environ.update({**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION})
        os.environ["BENCH_LOCAL_AWS"] = json.dumps({"env": env})
        export._seed(env, local_client("dynamodb", REGION, endpoint), records)
        alone = _quickest_export()
        _put_other_tenant(env, other_rows)
        beside = _quickest_export()
    finally:
        server.stop()
    for name, outcome in (("alone", alone), ("beside", beside)):
        if outcome["records"] != records or not outcome["checksum_ok"]:
            raise ExportCountError(f"export {name}: {outcome['records']} of {records} records")
    return {"export_alone_s": alone["seconds"], "export_beside_s": beside["seconds"]}


def _quickest_export() -> dict[str, Any]:
    """The quickest of a few runs of one export: on a shared machine the others measure the neighbours."""
    from bench import export

    runs = [export.export_in_child("csv", False) for _ in range(REPEATS)]
    return min(runs, key=lambda outcome: float(outcome["seconds"]))


def _put_other_tenant(env: dict[str, str], rows: int) -> None:
    """The large tenant's contacts, keyed and sharded as the loader keys them."""
    from moto.backends import get_backend

    from bench.harness.local_aws import REGION
    from tenant_pipeline.store.keys import record_pk
    from tenant_pipeline.topology import NEW_TENANT_SHARD_COUNT, Resource

    backend = get_backend("dynamodb")[ACCOUNT_ID][REGION]
    table = env[Resource.TENANT_DATA_TABLE.env_var]
    for n in range(rows):
        record_id = f"c{n:09d}"
        backend.put_item(
            table,
            {
                "pk": {"S": record_pk(OTHER_TENANT, "contacts", record_id, NEW_TENANT_SHARD_COUNT)},
                "sk": {"S": record_id},
                "id": {"S": record_id},
                "email": {"S": f"user{n}@example.com"},
                "name": {"S": f"Contact {n}"},
                "age": {"N": str(n % 90)},
            },
        )


def measure(records: int = RECORDS, other_rows: int = OTHER_TENANT_ROWS) -> dict[str, Any]:
    value: dict[str, Any] = run_in_child(
        "bench.local_query:run_exports", {"records": records, "other_rows": other_rows}
    ).value
    value.update(records=records, other_tenant_rows=other_rows)
    value["local_export_beside_large_tenant"] = value["export_beside_s"] / value["export_alone_s"]
    return value
