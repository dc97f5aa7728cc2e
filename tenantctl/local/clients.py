"""boto3 clients for the local AWS: its endpoint, a region, and dummy credentials."""

from __future__ import annotations

from typing import Any

from botocore.config import Config

from tenant_pipeline.aws import new_session

DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
"""The local AWS accepts any credentials; these keep boto3 from looking for real ones."""

_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=70)


def local_client(service: str, region: str, endpoint_url: str | None) -> Any:
    """A client of `service` on the local AWS (typed as Any: the stubs are a dev-only dependency).

    Without an endpoint it targets AWS's own URLs, which an in-process `mock_aws()` intercepts. Its session
    shares the process's service models with every other (see `tenant_pipeline.aws.new_session`).
    """
    return new_session().client(
        service,  # type: ignore[call-overload]
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=_CONFIG,
    )
