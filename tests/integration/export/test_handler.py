from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from functions.export import handler
from tenant_pipeline.errors import UnknownTenantError
from tests.integration.export.conftest import REGION, ExportWorld, contact


@dataclass
class FakeContext:
    remaining_ms: int = 900_000
    function_name: str = "tenant-pipelines-export-function"
    invoked_function_arn: str = (
        f"arn:aws:lambda:{REGION}:123456789012:function:tenant-pipelines-export-function"
    )
    aws_request_id: str = "req-1"
    memory_limit_in_mb: int = 512

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def deployed(world: ExportWorld, monkeypatch: pytest.MonkeyPatch) -> ExportWorld:
    """The function's environment, as the stack sets it."""
    for resource, name in world.names.items():
        monkeypatch.setenv(resource.env_var, name)
    monkeypatch.setenv("TENANT_DATA_SHARD_COUNT", "8")
    handler.dependencies.reset()
    return world


def test_handler_exports_and_returns_working_presigned_urls(deployed: ExportWorld) -> None:
    deployed.store_records("acme", "contacts", [contact(i) for i in range(25)])
    reply: dict[str, Any] = handler.lambda_handler(
        {"tenant_id": "acme", "entities": ["contacts"], "format": "csv"}, FakeContext()
    )
    assert reply["status"] == "SUCCEEDED"
    assert reply["total_records"] == 25
    (entry,) = reply["files"]
    assert set(reply["urls"]) == {"contacts.csv", "manifest.json"}
    downloaded = requests.get(reply["urls"]["contacts.csv"], timeout=10)
    assert downloaded.status_code == 200
    assert hashlib.sha256(downloaded.content).hexdigest() == entry["sha256"]
    manifest = requests.get(reply["urls"]["manifest.json"], timeout=10).json()
    assert manifest["files"][0]["sha256"] == entry["sha256"]


def test_handler_refuses_an_unknown_tenant(deployed: ExportWorld) -> None:
    with pytest.raises(UnknownTenantError, match="unknown tenant 'ghost'"):
        handler.lambda_handler({"tenant_id": "ghost", "entities": ["contacts"]}, FakeContext())


def test_handler_continues_through_its_own_function(
    deployed: ExportWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed.store_records("acme", "contacts", [contact(i) for i in range(5)])
    invoked: list[tuple[str, dict[str, Any]]] = []

    class RecordingContinuation:
        def __init__(self, function_name: str) -> None:
            self.function_name = function_name

        def dispatch(self, payload: dict[str, Any]) -> None:
            invoked.append((self.function_name, payload))

    monkeypatch.setattr(
        handler,
        "continuation_for",
        lambda context, clients: RecordingContinuation(context.invoked_function_arn),
    )
    context = FakeContext(remaining_ms=30_000)
    first = handler.lambda_handler({"tenant_id": "acme", "entities": ["contacts", "orders"]}, context)
    assert first["status"] == "RUNNING"
    ((function, payload),) = invoked
    assert function == context.invoked_function_arn
    second = handler.lambda_handler(payload, FakeContext())
    assert second["status"] == "SUCCEEDED"
    assert [entry["entity"] for entry in second["files"]] == ["contacts", "orders"]
