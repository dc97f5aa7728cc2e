"""SendMessageBatch: failed entries re-sent, sender faults and exhausted retries surface."""

from __future__ import annotations

from typing import Any

import pytest

from tenant_pipeline.errors import FanoutError
from tenant_pipeline.store.batch_queue import BatchQueue


class _Sqs:
    def __init__(self, failures: list[list[dict[str, Any]]]) -> None:
        self.sent: list[list[str]] = []
        self._failures = failures

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.sent.append([entry["Id"] for entry in Entries])
        failed = self._failures.pop(0) if self._failures else []
        ids = {f["Id"] for f in failed}
        return {"Successful": [{"Id": e["Id"]} for e in Entries if e["Id"] not in ids], "Failed": failed}


def _entries(count: int) -> list[dict[str, Any]]:
    return [{"Id": f"b{n}", "MessageBody": "{}"} for n in range(count)]


def test_only_the_failed_entries_are_sent_again() -> None:
    sqs = _Sqs([[{"Id": "b2", "SenderFault": False, "Code": "InternalError"}]])
    BatchQueue(sqs, "http://queue", sleep=lambda _: None).send_batch(_entries(4))  # type: ignore[arg-type]
    assert sqs.sent == [["b0", "b1", "b2", "b3"], ["b2"]]


def test_a_sender_fault_is_not_retried() -> None:
    sqs = _Sqs([[{"Id": "b1", "SenderFault": True, "Code": "InvalidMessageContents", "Message": "bad"}]])
    with pytest.raises(FanoutError, match="InvalidMessageContents"):
        BatchQueue(sqs, "http://queue", sleep=lambda _: None).send_batch(_entries(2))  # type: ignore[arg-type]
    assert len(sqs.sent) == 1


def test_entries_failing_every_attempt_raise() -> None:
    failure = [{"Id": "b0", "SenderFault": False, "Code": "InternalError"}]
    sqs = _Sqs([failure] * 10)
    with pytest.raises(FanoutError, match="1 batch messages still failing after 3 attempts"):
        BatchQueue(sqs, "http://queue", attempts=3, sleep=lambda _: None).send_batch(_entries(1))  # type: ignore[arg-type]
    assert len(sqs.sent) == 3
