"""The one place boto3 clients are made.

Clients are created lazily (never at import time) and cached per `AwsClients`, so a function builds
each once per cold start and tests inject their own. `AWS_ENDPOINT_URL` points every client at the
local AWS. The DynamoDB client skips botocore's parameter validation: the loader's requests are built
by our own code from validated rows, and validating 25 typed items per call is pure CPU cost. The Lambda
client never resends an invoke (see `lambda_`).
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_stepfunctions import SFNClient

_BASE_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5}, tcp_keepalive=True, max_pool_connections=20
)
LAMBDA_MAX_TIMEOUT_S = 900
"""The longest a Lambda function may run: a synchronous invoke can take that long to answer."""
_LAMBDA_CONFIG = Config(
    read_timeout=LAMBDA_MAX_TIMEOUT_S + 60,
    connect_timeout=10,
    # A resent synchronous invoke would run the function (start the same job) a second time.
    retries={"mode": "standard", "max_attempts": 1},
)


class AwsClients:
    """Lazily created, cached boto3 clients for one region and endpoint."""

    def __init__(self, region: str | None = None, endpoint_url: str | None = None) -> None:
        self._session = boto3.session.Session(region_name=region) if region else boto3.session.Session()
        self.region: str = region or self._session.region_name or "us-east-1"
        self.endpoint_url: str | None = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None

    def for_region(self, region: str) -> AwsClients:
        """Clients for another region on the same endpoint (the local AWS serves every region)."""
        return AwsClients(region=region, endpoint_url=self.endpoint_url)

    def _client(self, service: str, config: Config | None = None) -> Any:
        merged = _BASE_CONFIG.merge(config) if config else _BASE_CONFIG
        return self._session.client(
            service,  # type: ignore[call-overload]
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            config=merged,
        )

    @cached_property
    def s3(self) -> S3Client:
        # Path-style addressing: the local AWS is an IP address, where virtual hosts cannot resolve.
        style: Literal["path", "auto"] = "path" if self.endpoint_url else "auto"
        client: S3Client = self._client("s3", Config(s3={"addressing_style": style}))
        return client

    @cached_property
    def sqs(self) -> SQSClient:
        client: SQSClient = self._client("sqs")
        return client

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self._client("dynamodb", Config(parameter_validation=False))
        return client

    @cached_property
    def ssm(self) -> SSMClient:
        client: SSMClient = self._client("ssm")
        return client

    @cached_property
    def stepfunctions(self) -> SFNClient:
        client: SFNClient = self._client("stepfunctions")
        return client

    @cached_property
    def lambda_(self) -> LambdaClient:
        """Waits out the longest function run and never resends an invoke."""
        client: LambdaClient = self._client("lambda", _LAMBDA_CONFIG)
        return client
