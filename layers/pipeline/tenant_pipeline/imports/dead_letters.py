"""The dead-letter reconciler: every batch in the batches DLQ is recorded as failed on its job.

A batch whose last receive ran the loader's code was recorded there, with what it raised; one whose
last receive timed out, or whose sandbox ended, was not, and its job would stay RUNNING. The
reconciler runs on a schedule and peeks: an empty DLQ (its approximate depth) costs one call;
otherwise it receives the messages with a visibility timeout that outlasts one pass (so a pass sees
each message once), records each batch as failed (a reason recorded by the loader is kept), tries
to finish each job it touched, and then makes every message visible again at once. It never
deletes a message: `tenantctl redrive` still finds every dead letter, and a redriven batch that
loads finishes its job SUCCEEDED or PARTIAL (`imports.completion`). Recording is idempotent, so the
next pass over the same messages changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenant_pipeline.errors import BatchMessageError, UnknownJobError
from tenant_pipeline.imports.batch_message import BatchMessage
from tenant_pipeline.imports.completion import JobCompleter
from tenant_pipeline.store.jobs import JobsLedger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

SQS_MAX_MESSAGES = 10
"""Messages one ReceiveMessage / ChangeMessageVisibilityBatch call takes at most."""
POLL_WAIT_S = 1
"""Long polling asks every SQS server, so an empty reply means the pass has seen the whole queue; a
reply comes as soon as there are messages, so only that last empty reply waits."""
DEAD_LETTERED = (
    "dead-lettered with no failure recorded by the loader (its invocation timed out or its sandbox ended)"
)


@dataclass(frozen=True)
class ReconcilePass:
    """What one pass over the DLQ found and did."""

    messages: int
    recorded: int
    """Batches newly recorded as failed (the others were recorded before, or are done)."""
    unreadable: int
    finished_jobs: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "recorded": self.recorded,
            "unreadable": self.unreadable,
            "finished_jobs": list(self.finished_jobs),
        }


class DeadLetterReconciler:
    """Records the batches the batches DLQ holds on their jobs, leaving the messages where they are."""

    def __init__(
        self,
        *,
        sqs: SQSClient,
        dlq_url: str,
        jobs: JobsLedger,
        completer: JobCompleter,
        peek_visibility_s: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sqs = sqs
        self._dlq_url = dlq_url
        self._jobs = jobs
        self._completer = completer
        self._peek_visibility_s = peek_visibility_s
        self._clock = clock

    def run(self, deadline: float | None = None) -> ReconcilePass:
        """One pass over the DLQ, until it reads empty or `deadline` (on this reconciler's clock)."""
        batches: dict[str, set[int]] = defaultdict(set)
        held: list[str] = []
        seen: set[str] = set()
        unreadable = 0
        visible = self._visible_messages()
        try:
            while len(seen) < visible and (deadline is None or self._clock() < deadline):
                messages = self._sqs.receive_message(
                    QueueUrl=self._dlq_url,
                    MaxNumberOfMessages=SQS_MAX_MESSAGES,
                    VisibilityTimeout=self._peek_visibility_s,
                    WaitTimeSeconds=POLL_WAIT_S,
                ).get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    held.append(message["ReceiptHandle"])
                    if message["MessageId"] in seen:
                        continue
                    seen.add(message["MessageId"])
                    try:
                        header = BatchMessage.parse(message["Body"]).header
                    except BatchMessageError:
                        unreadable += 1
                        logger.error("unreadable dead letter", extra={"message_id": message["MessageId"]})
                        continue
                    batches[header.job_id].add(header.batch_number)
            recorded, finished = self._record(batches)
        finally:
            self._release(held)
        return ReconcilePass(len(seen), recorded, unreadable, tuple(finished))

    def _visible_messages(self) -> int:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))

    def _record(self, batches: dict[str, set[int]]) -> tuple[int, list[str]]:
        recorded = 0
        finished: list[str] = []
        for job_id, numbers in sorted(batches.items()):
            try:
                self._jobs.get(job_id)
            except UnknownJobError:  # its tenant's data was erased since: nothing to end
                logger.warning("dead letter of an unknown job", extra={"job_id": job_id})
                continue
            recorded += sum(self._jobs.mark_batch_failed(job_id, n, DEAD_LETTERED) for n in sorted(numbers))
            if self._completer.try_complete(job_id) is not None:
                finished.append(job_id)
        return recorded, finished

    def _release(self, receipt_handles: Sequence[str]) -> None:
        """Make the peeked messages visible again now, for `tenantctl redrive` and the next pass."""
        for start in range(0, len(receipt_handles), SQS_MAX_MESSAGES):
            chunk = receipt_handles[start : start + SQS_MAX_MESSAGES]
            self._sqs.change_message_visibility_batch(
                QueueUrl=self._dlq_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for index, handle in enumerate(chunk)
                ],
            )
