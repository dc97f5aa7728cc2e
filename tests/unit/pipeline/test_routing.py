"""Routing uploads for validation: one request per object, in its tenant's message group."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tenant_pipeline.errors import FanoutError
from tenant_pipeline.imports.routing import ValidationRouter, validation_requests
from tenant_pipeline.store.batch_queue import BatchQueue


def _record(key: str) -> dict[str, Any]:
    return {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"object": {"key": key}}}


def test_each_object_of_a_notification_becomes_one_request_in_its_tenants_group() -> None:
    records = [
        _record("tenants/acme/imports/contacts/a+b.csv"),
        _record("tenants%2Fglobex%2Fimports%2Fo%2Fx.csv"),
    ]
    requests = validation_requests({"Records": records})
    assert [request.tenant_id for request in requests] == ["acme", "globex"]
    assert [json.loads(request.body) for request in requests] == [{"Records": [record]} for record in records]


def test_keys_without_a_valid_tenant_go_without_a_group_and_test_events_go_nowhere() -> None:
    keys = ("tenants/Bad_Id/imports/c/x.csv", "elsewhere/x.csv", "tenants/acme/import/c/x.csv")
    assert [r.tenant_id for r in validation_requests({"Records": [_record(k) for k in keys]})] == [None] * 3
    assert validation_requests({"Records": [{"s3": "not an object"}]})[0].tenant_id is None
    assert validation_requests({"Service": "Amazon S3", "Event": "s3:TestEvent"}) == []


class _Queue(BatchQueue):
    def __init__(self, refuse_call: int) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self._refuse_call = refuse_call

    def send_batch(self, entries: Sequence[dict[str, Any]]) -> None:
        self.calls.append(list(entries))
        if len(self.calls) == self._refuse_call:
            raise FanoutError("throttled")


def test_requests_go_ten_per_call_and_a_failed_call_fails_only_its_sources() -> None:
    queue = _Queue(refuse_call=2)
    requests = [
        (f"m{n}", request)
        for n in range(12)
        for request in validation_requests({"Records": [_record(f"tenants/t{n}/imports/c/x.csv")]})
    ]
    failed = ValidationRouter(queue).route(
        requests, {"traceparent": {"DataType": "String", "StringValue": "x"}}
    )
    assert [len(call) for call in queue.calls] == [10, 2]
    assert failed == {"m10", "m11"}
    first = queue.calls[0][0]
    assert first["MessageGroupId"] == "t0" and "traceparent" in first["MessageAttributes"]
