"""The local TransactWriteItems that backs up only its items answers, and leaves the tables, as moto's own
does: the same transactions, run on the same tables with and without it, give the same responses
(CancellationReasons included) and the same items afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item

from tenantctl.local.clients import local_client
from tenantctl.local.transaction_backup import item_backups

REGION = "us-east-1"
JOBS = "jobs"
TENANTS = "tenants"
FILLER_ITEMS = 40


def S(value: str) -> dict[str, str]:
    return {"S": value}


def N(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _job_key(job: str, sk: str = "JOB") -> dict[str, Any]:
    return {"pk": S(job), "sk": S(sk)}


def _tables(client: Any) -> None:
    client.create_table(
        TableName=JOBS,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.create_table(
        TableName=TENANTS,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(
        TableName=JOBS,
        Item={
            **_job_key("job-1"),
            "done": N(3),
            "total": N(5),
            "status": S("RUNNING"),
            "tags": {"SS": ["a"]},
        },
    )
    client.put_item(TableName=JOBS, Item={**_job_key("job-1", "BATCH#0001"), "rows": N(10)})
    client.put_item(TableName=JOBS, Item={**_job_key("job-2"), "done": N(0), "status": S("RUNNING")})
    for n in range(FILLER_ITEMS):
        client.put_item(TableName=JOBS, Item={**_job_key(f"old-{n:03d}"), "status": S("SUCCEEDED")})
    client.put_item(TableName=TENANTS, Item={"pk": S("acme"), "status": S("active"), "jobs": N(1)})
    client.put_item(TableName=TENANTS, Item={"pk": S("globex"), "status": S("migrating")})


def _count_batch(job: str, batch: str) -> list[dict[str, Any]]:
    """What a loader does: mark the batch done once, and count it on the job."""
    return [
        {
            "Put": {
                "TableName": JOBS,
                "Item": {**_job_key(job, batch), "rows": N(10)},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Update": {
                "TableName": JOBS,
                "Key": _job_key(job),
                "UpdateExpression": "ADD done :one SET #s = :s",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":one": N(1), ":s": S("COUNTING")},
            }
        },
    ]


def _tenant_active(tenant: str, return_old: bool = False) -> dict[str, Any]:
    check: dict[str, Any] = {
        "TableName": TENANTS,
        "Key": {"pk": S(tenant)},
        "ConditionExpression": "#s = :active",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":active": S("active")},
    }
    if return_old:
        check["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return {"ConditionCheck": check}


TRANSACTIONS: dict[str, list[list[dict[str, Any]]]] = {
    "a batch counted, then counted again (its marker exists)": [
        _count_batch("job-1", "BATCH#0002"),
        _count_batch("job-1", "BATCH#0002"),
    ],
    "a batch already counted: the job's update is undone": [_count_batch("job-1", "BATCH#0001")],
    "writes on two tables, the tenant check passes": [
        [*_count_batch("job-2", "BATCH#0001"), _tenant_active("acme")]
    ],
    "writes on two tables, the tenant check fails last, returning the old item": [
        [
            *_count_batch("job-2", "BATCH#0001"),
            {"Put": {"TableName": TENANTS, "Item": {"pk": S("initech"), "status": S("active")}}},
            {"Delete": {"TableName": JOBS, "Key": _job_key("old-007")}},
            _tenant_active("globex", return_old=True),
        ]
    ],
    "the check fails first": [[_tenant_active("globex"), *_count_batch("job-2", "BATCH#0009")]],
    "an update creates an item, a delete removes one, then a condition fails": [
        [
            {
                "Update": {
                    "TableName": JOBS,
                    "Key": _job_key("job-new"),
                    "UpdateExpression": "SET #s = :s ADD tags :t",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": S("RUNNING"), ":t": {"SS": ["b"]}},
                }
            },
            {"Delete": {"TableName": TENANTS, "Key": {"pk": S("acme")}}},
            {
                "Update": {
                    "TableName": JOBS,
                    "Key": _job_key("job-1"),
                    "UpdateExpression": "ADD tags :t",
                    "ConditionExpression": "done > :n",
                    "ExpressionAttributeValues": {":t": {"SS": ["c"]}, ":n": N(100)},
                }
            },
        ]
    ],
    "a conditional delete that fails, after a put into a new partition": [
        [
            {"Put": {"TableName": JOBS, "Item": {**_job_key("job-9", "BATCH#0001"), "rows": N(1)}}},
            {
                "Delete": {
                    "TableName": JOBS,
                    "Key": _job_key("job-2"),
                    "ConditionExpression": "done > :n",
                    "ExpressionAttributeValues": {":n": N(5)},
                }
            },
        ]
    ],
    "two actions on one item": [
        [
            {"Put": {"TableName": TENANTS, "Item": {"pk": S("acme"), "status": S("suspended")}}},
            {
                "Update": {
                    "TableName": TENANTS,
                    "Key": {"pk": S("acme")},
                    "UpdateExpression": "ADD jobs :one",
                    "ExpressionAttributeValues": {":one": N(1)},
                }
            },
        ]
    ],
    "a key of the wrong type after a write": [
        [
            {"Put": {"TableName": TENANTS, "Item": {"pk": S("hooli"), "status": S("active")}}},
            {"Put": {"TableName": JOBS, "Item": {"pk": N(1), "sk": S("JOB")}}},
        ]
    ],
    "a table that does not exist": [
        [
            {"Put": {"TableName": TENANTS, "Item": {"pk": S("hooli"), "status": S("active")}}},
            {"Put": {"TableName": "missing", "Item": {"pk": S("x")}}},
        ]
    ],
    "the same client request token twice": [
        _count_batch("job-2", "BATCH#0003"),
        _count_batch("job-2", "BATCH#0003"),
    ],
}
TOKENED = "the same client request token twice"


def _outcome(client: Any, actions: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    extra = {"ClientRequestToken": token} if token else {}
    try:
        response = client.transact_write_items(TransactItems=actions, **extra)
    except ClientError as exc:
        error = exc.response["Error"]
        return {
            "error": error.get("Code"),
            "message": error.get("Message"),
            "reasons": exc.response.get("CancellationReasons"),
        }
    return {"response": {key: value for key, value in response.items() if key != "ResponseMetadata"}}


def _contents(client: Any) -> dict[str, list[dict[str, Any]]]:
    contents = {}
    for table in (JOBS, TENANTS):
        items = client.scan(TableName=table, ConsistentRead=True)["Items"]
        contents[table] = sorted(items, key=lambda item: (item["pk"]["S"], item.get("sk", {}).get("S", "")))
    return contents


def _run(name: str, adapter: Callable[[], Any] | None) -> dict[str, Any]:
    """Fresh tables, the scenario's transactions in order: each outcome, then every table's items."""
    with mock_aws():
        client = local_client("dynamodb", REGION, None)
        _tables(client)
        token = "count-job-2-batch-3" if name == TOKENED else None
        if adapter is None:
            outcomes = [_outcome(client, actions, token) for actions in TRANSACTIONS[name]]
        else:
            with adapter():
                outcomes = [_outcome(client, actions, token) for actions in TRANSACTIONS[name]]
        return {"outcomes": outcomes, "contents": _contents(client)}


@pytest.mark.parametrize("name", sorted(TRANSACTIONS))
def test_transactions_answer_and_leave_the_tables_as_motos_own(name: str) -> None:
    expected = _run(name, None)

    assert _run(name, item_backups) == expected


def test_the_scenarios_include_cancellations_that_undo_writes() -> None:
    """The comparison above means something only if moto's own answers include undone writes."""
    cancelled = _run("writes on two tables, the tenant check fails last, returning the old item", None)
    (outcome,) = cancelled["outcomes"]
    assert outcome["error"] == "TransactionCanceledException"
    codes = [reason["Code"] for reason in outcome["reasons"]]
    assert codes == ["None", "None", "None", "None", "ConditionalCheckFailed"]
    assert outcome["reasons"][-1]["Item"]["status"] == S("migrating")
    assert {"pk": S("initech"), "status": S("active")} not in cancelled["contents"][TENANTS]
    assert any(item["pk"] == S("old-007") for item in cancelled["contents"][JOBS])
    (job_2,) = [item for item in cancelled["contents"][JOBS] if item["pk"] == S("job-2")]
    assert job_2["done"] == N(0)


def test_a_transaction_copies_its_items_not_its_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The work of the backup is the transaction's items, not the tables' (a count, not a time)."""
    copied: list[int] = []
    moto_item_copy = Item.__deepcopy__

    def counting_item_copy(self: Item, memo: dict[int, Any]) -> Item:
        copied[-1] += 1
        return moto_item_copy(self, memo)

    monkeypatch.setattr(Item, "__deepcopy__", counting_item_copy)
    moto_transaction = DynamoDBBackend.transact_write_items
    with mock_aws():
        client = local_client("dynamodb", REGION, None)
        _tables(client)
        for adapter in (item_backups, None):
            copied.append(0)
            if adapter is None:
                client.transact_write_items(TransactItems=_count_batch("job-2", "BATCH#0005"))
            else:
                with adapter():
                    client.transact_write_items(TransactItems=_count_batch("job-2", "BATCH#0004"))
    job_items = FILLER_ITEMS + 3
    # ours: the job item as it was (the new marker was absent), and the copy moto's Update keeps of it;
    # moto's: the whole jobs table once per action, and that same Update copy
    assert copied[0] == 1 + 1
    assert copied[1] >= 2 * job_items
    assert DynamoDBBackend.transact_write_items is moto_transaction


def test_motos_transactions_are_restored_when_the_last_user_leaves() -> None:
    moto_transaction = DynamoDBBackend.transact_write_items
    with item_backups():
        with item_backups():
            pass
        assert DynamoDBBackend.transact_write_items is not moto_transaction
    assert DynamoDBBackend.transact_write_items is moto_transaction
