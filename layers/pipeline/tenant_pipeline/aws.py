"""The one place boto3 clients are made.

Clients are created lazily (never at import time) and cached per `AwsClients`, so a function builds
each once per cold start and tests inject their own. `AWS_ENDPOINT_URL` points every client at the
local AWS. The DynamoDB client skips botocore's parameter validation: the loader's requests are built
by our own code from validated rows, and validating 25 typed items per call is pure CPU cost. The Lambda
client never resends an invoke (see `lambda_`).

Every session of the process shares one botocore data loader (`new_session`): the service models and
endpoint rules it reads from disk are immutable, and each session loading its own copy costs about 15 MB
(S3's model alone 12 MB). A function builds its clients once per cold start anyway; the sharing matters
where one process holds several sets of clients: the clients of other regions (a migration), and the
local runtime, which runs several execution environments of a function in one process.
"""

from __future__ import annotations

import os
import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import boto3
import botocore.session
from botocore.config import Config
from botocore.loaders import Loader

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


class _SearchPaths(list[str]):
    """A loader's search paths that ignore a path already listed: every boto3 session appends its own data
    directory to its loader's paths, and the shared loader serves every session of the process."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


_loader_lock = threading.Lock()
_loaders: list[Loader] = []
"""The process's shared loader, once made."""


def _process_loader(session: botocore.session.Session) -> Loader:
    """The process's data loader, made on first use with the data path (`AWS_DATA_PATH`) of `session`."""
    with _loader_lock:
        if not _loaders:
            data_path = session.get_config_variable("data_path")
            paths = (
                [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)]
                if data_path
                else []
            )
            _loaders.append(Loader(extra_search_paths=_SearchPaths(paths)))
        return _loaders[0]


def new_session(region: str | None = None) -> boto3.session.Session:
    """A boto3 session of its own (credentials, region, event handlers) on the process's shared loader."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _process_loader(core))
    return boto3.session.Session(botocore_session=core, region_name=region)


class AwsClients:
    """Lazily created, cached boto3 clients for one region and endpoint."""

    def __init__(self, region: str | None = None, endpoint_url: str | None = None) -> None:
        self._session = new_session(region)
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
