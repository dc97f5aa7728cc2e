"""Cost per million imported records on AWS, from the CPU and requests measured end to end.

Prices: `tenant_pipeline.capacity` (AWS public price pages, us-east-1, on-demand, as published on
2025-06-01, DynamoDB on-demand after its 2024-11-01 price cut); free tiers ignored.

Lambda duration is estimated from measured handler CPU: Lambda gives a function CPU in proportion to
its memory (one full vCPU at 1,769 MB), so CPU-bound work of `c` CPU-seconds lasts `c * 1769 / M`
seconds at `M` MB and bills `c * 1769 / 1024` GB-s whatever `M` is. Waiting on AWS APIs adds to
this; on the local AWS that wait is not representative, so it is left out (a lower bound for Lambda).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenant_pipeline.capacity import (
    DYNAMODB_READ_UNIT_USD,
    DYNAMODB_WRITE_UNIT_USD,
    LAMBDA_GB_SECOND_USD,
    LAMBDA_MB_PER_VCPU,
    LAMBDA_REQUEST_USD,
    PRICES_DATE,
    S3_GET_CLASS_USD,
    S3_PUT_CLASS_USD,
    SQS_REQUEST_USD,
)

FULL_VCPU_MB = LAMBDA_MB_PER_VCPU


@dataclass(frozen=True)
class CostEstimate:
    """US dollars per million imported records, per service."""

    lambda_compute: float
    lambda_requests: float
    sqs: float
    dynamodb: float
    s3: float

    @property
    def total(self) -> float:
        return self.lambda_compute + self.lambda_requests + self.sqs + self.dynamodb + self.s3

    def to_dict(self) -> dict[str, Any]:
        parts = {
            "lambda_compute": self.lambda_compute,
            "lambda_requests": self.lambda_requests,
            "sqs": self.sqs,
            "dynamodb": self.dynamodb,
            "s3": self.s3,
        }
        return {
            **parts,
            "total": self.total,
            "dominant": max(parts, key=lambda name: parts[name]),
            "prices_date": PRICES_DATE,
        }


def estimate(run: dict[str, Any], records: int) -> CostEstimate:
    """Scale one measured import (`import_e2e.run_ours` result) of `records` rows to a million."""
    scale = 1_000_000 / records
    requests = run["requests"]
    cpu_s = sum(run["function_cpu_s"].values())
    gb_seconds = cpu_s * FULL_VCPU_MB / 1024
    return CostEstimate(
        lambda_compute=gb_seconds * LAMBDA_GB_SECOND_USD * scale,
        lambda_requests=sum(run["invocations"].values()) * LAMBDA_REQUEST_USD * scale,
        sqs=requests["sqs_billed_requests"] * SQS_REQUEST_USD * scale,
        dynamodb=(
            requests["dynamodb_write_units"] * DYNAMODB_WRITE_UNIT_USD
            + requests["dynamodb_read_calls"] * DYNAMODB_READ_UNIT_USD
        )
        * scale,
        s3=(requests["s3_put_class"] * S3_PUT_CLASS_USD + requests["s3_get_class"] * S3_GET_CLASS_USD)
        * scale,
    )
