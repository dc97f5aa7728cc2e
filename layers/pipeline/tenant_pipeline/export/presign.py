"""Presigned GET URLs, so a tenant can download an export without AWS credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_URL_TTL_S = 3600
MAX_URL_TTL_S = 7 * 24 * 3600
"""SigV4 presigned URLs live at most seven days."""


def presigned_url(s3: S3Client, bucket: str, key: str, ttl_s: int = DEFAULT_URL_TTL_S) -> str:
    """A URL that GETs the object for `ttl_s` seconds (clamped to 1 s .. 7 days)."""
    ttl = max(1, min(ttl_s, MAX_URL_TTL_S))
    return s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=ttl)
