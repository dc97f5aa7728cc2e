"""How an export job goes on in a fresh invocation when the current one has used half its time.

The function invokes itself asynchronously (`InvocationType=Event`) with `{"tenant_id", "job_id",
"continue": true, "trace"}`; everything else (entities, format, files written so far, the job's trace)
is read back from the job record, so a repeated delivery of the same payload is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from botocore.exceptions import BotoCoreError, ClientError

from tenant_pipeline.export.errors import ExportError

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


class ContinuationFailedError(ExportError):
    """The follow-up invocation of a running export could not be started."""


class Continuation(Protocol):
    """Starts the next invocation of a running export job."""

    def dispatch(self, payload: dict[str, Any]) -> None: ...


class LambdaContinuation:
    """Asynchronous self-invocation of the export function."""

    def __init__(self, client: Callable[[], LambdaClient], function_name: str) -> None:
        self._client = client
        self.function_name = function_name

    def dispatch(self, payload: dict[str, Any]) -> None:
        try:
            self._client().invoke(
                FunctionName=self.function_name, InvocationType="Event", Payload=orjson.dumps(payload)
            )
        except (ClientError, BotoCoreError) as exc:
            raise ContinuationFailedError(
                f"could not invoke {self.function_name} to continue: {exc}"
            ) from exc
