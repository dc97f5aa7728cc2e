"""The capacity model's validation side: each stage's invocations, their time, requests and limits.

A plain CSV or JSON Lines file (`validation.resumable`) is read in legs, one invocation each, then
finished in stages, each in legs of the same budget (`imports.validate`, `imports.legs`):

- read: from a byte offset for the shipped cap (`topology.VALIDATION_LEG_READ_S`) or until the leg's
  budget is used; the leg's parts (spool segment, report part, spill pieces) then go to S3 before the
  invocation records its checkpoint;
- duplicates: one spill partition at a time (a partition is the unit: it fits one leg or nothing);
- settle: one spool segment at a time, rewritten without its late duplicates (worst case: every one);
- verdict: the report's parts joined by a multipart upload, part by part;
- fan-out: the batch messages, segment by segment, a checkpoint after any SendMessageBatch call.

A file read in one invocation (gzip, JSON arrays, and any file read before its leg's budget) finishes
there too when the time left after reading is at least what the reading took; otherwise it hands over
to the stages. Every invocation must do its work within its timeout less the reserve the validator
keeps to record the job (`FINISH_RESERVE_S`), and hold its files within `/tmp`.

The file is taken at its worst for each stage: every row valid for the spool and the fan-out, and, for
the report only, as many invalid rows as the tenant's default limit lets through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tenant_pipeline import topology
from tenant_pipeline.formats import FileFormat, Kind
from tenant_pipeline.imports.fanout import ATTRIBUTES_ALLOWANCE, INLINE_LIMIT
from tenant_pipeline.imports.validate import FINISH_RESERVE_S
from tenant_pipeline.store.batch_queue import MAX_ENTRIES, MAX_PAYLOAD_BYTES
from tenant_pipeline.validation import resumable
from tenant_pipeline.validation.duplicates import DEFAULT_MAX_KEYS, DEFAULT_PARTITIONS

if TYPE_CHECKING:
    from tenant_pipeline.capacity import Settings, UnitCosts

# --- Documented quotas ---
DYNAMODB_MAX_ITEM_BYTES = 400 * 1024
"""Largest DynamoDB item, names and values included ("Service, account, and table quotas": item size)."""
S3_MAX_PARTS = 10_000
"""Parts of one multipart upload (S3 User Guide, "Amazon S3 multipart upload limits")."""
BOTO3_TRANSFER_CHUNK_BYTES = 8 * 1024**2
"""boto3's managed transfers move an object in parts of 8 MiB, one request each (`TransferConfig`)."""

# --- The runtime's own units ---
REPORT_PART_BYTES = 64 * 1024**2
"""The verdict joins the report in parts of 64 MiB; a leg may stop after any part."""
CHECKPOINT_BASE_BYTES = 1_024
"""The job item without its leg list: status, counts, the read point, names (approximate)."""
CHECKPOINT_BYTES_PER_LEG = 330
"""A read leg's entry in the checkpoint with every one of 64 spill partitions listed (`LegCheckpoint`
as JSON: tests/unit/pipeline/test_capacity_validation.py measures it)."""
CHECKPOINT_BYTES_PER_PARTITION = 32
"""A few ints per spill partition: the finishing stages' progress (approximate)."""

# --- Assumptions (not AWS quotas): transfers the model cannot measure on a laptop ---
ASSUMED_S3_UPLOAD_BYTES_PER_S = 100e6
"""boto3's managed upload from a function at one vCPU, its parts in parallel (assumption; AWS documents
no network bandwidth for Lambda)."""
ASSUMED_S3_DOWNLOAD_BYTES_PER_S = 100e6
"""boto3's managed download into `/tmp`, likewise (assumption)."""
ASSUMED_SEND_BATCH_S = 0.02
"""One in-Region SendMessageBatch round trip (assumption)."""
ASSUMED_REPORT_BYTES_PER_INVALID_ROW = 100
"""One report line: line number, field, value excerpt, reason (assumption)."""


@dataclass(frozen=True)
class Stage:
    """One stage of a validation: its invocations, their time, their requests and each limit's use."""

    name: str
    legs: int
    work_s: float
    """Invocation time, all legs together."""
    usage: dict[str, float] = field(default_factory=dict)
    s3_puts: float = 0.0
    s3_gets: float = 0.0
    sqs_requests: float = 0.0
    dynamodb_writes: float = 0.0


@dataclass(frozen=True)
class Validation:
    """The stages of one file's validation and how they run: in one invocation or in legs."""

    stages: tuple[Stage, ...]
    one_invocation: bool
    admission: dict[str, float]
    """The file's use of what admission allows its format."""

    @property
    def legs(self) -> int:
        return sum(stage.legs for stage in self.stages)

    @property
    def wall_s(self) -> float:
        """Invocations one after another, each hand-over delayed on the queue."""
        return sum(s.work_s for s in self.stages) + (self.legs - 1) * topology.VALIDATION_HANDOVER_DELAY_S


def transfer_requests(size: float) -> int:
    """Requests of one managed upload or download of `size` bytes (one per part)."""
    return max(1, math.ceil(size / BOTO3_TRANSFER_CHUNK_BYTES))


class ValidationModel:
    """Plans one file's validation for the unit costs and settings given, at `vcpu` of CPU."""

    def __init__(self, costs: UnitCosts, settings: Settings, vcpu: float) -> None:
        self.costs = costs
        self.settings = settings
        self.vcpu = vcpu
        self.budget_s = settings.validator_timeout_s - FINISH_RESERVE_S
        self.tmp_bytes = settings.validator_ephemeral_mb * 2**20

    def read_s_per_byte(self, fmt: FileFormat) -> float:
        """Wall seconds per content byte: parse and validate (JSON arrays at JSON Lines' measured cost,
        the same records through a C decoder), plus gunzip for a compressed file."""
        c = self.costs
        per_gb = c.validate_cpu_s_per_gb["csv" if fmt.kind is Kind.CSV else "jsonl"]
        per_gb += c.gunzip_cpu_s_per_gb if fmt.gzip else 0.0
        return per_gb / 1e9 / self.vcpu

    def leg_read_s(self) -> float:
        """How long a read leg reads: until its budget is used, or the shipped cap."""
        cap = self.settings.validator_leg_read_s
        return self.budget_s if cap is None else min(cap, self.budget_s)

    def plan(self, content_bytes: float, file_format: str, row_bytes: float) -> Validation:
        """`content_bytes` of rows of `row_bytes` (decompressed, for a gzip file)."""
        fmt = FileFormat.from_key(f"file.{file_format}")
        c = self.costs
        rows = content_bytes / row_bytes
        read_s = content_bytes * self.read_s_per_byte(fmt)
        spool = content_bytes * c.spool_bytes_per_input_byte
        spilled_rows = max(0.0, rows - DEFAULT_MAX_KEYS)
        admission = self._admission(content_bytes, fmt)
        read_whole = not resumable(fmt) or read_s <= self.leg_read_s()
        if read_whole and self.settings.validator_timeout_s - read_s >= read_s:
            return self._one_invocation(read_s, spool, rows, spilled_rows, admission)
        stages = self._legs(read_s, spool, rows, spilled_rows, read_whole=read_whole)
        return Validation(stages, one_invocation=False, admission=admission)

    def _legs(
        self, read_s: float, spool: float, rows: float, spilled_rows: float, *, read_whole: bool
    ) -> tuple[Stage, ...]:
        """Read legs (one, for a file read whole that hands over), then the finishing stages' legs."""
        read_legs = 1 if read_whole else math.ceil(read_s / self.leg_read_s())
        full_share = 1.0 if read_whole else self.leg_read_s() / read_s  # a full leg's share of the file
        read = self._read_legs(
            legs=read_legs,
            read_s=read_s,
            spool=spool,
            spilled_rows=spilled_rows,
            share=full_share,
        )
        segment = spool * full_share  # the largest spool segment: a full leg's
        stages = [read]
        if spilled_rows:
            stages += [self._duplicates(spilled_rows, read_legs), self._settle(spool, segment, read_legs)]
        stages += [self._verdict(rows), self._fanout(rows, spool, segment, read_legs)]
        return tuple(stages)

    def _admission(self, content_bytes: float, fmt: FileFormat) -> dict[str, float]:
        s, c = self.settings, self.costs
        if resumable(fmt):
            return {"admitted object size": content_bytes / s.max_legged_object_bytes}
        object_bytes = content_bytes * (c.gzip_bytes_per_content_byte if fmt.gzip else 1.0)
        usage = {"admitted object size": object_bytes / s.max_object_bytes}
        if fmt.gzip:
            usage["admitted decompressed size"] = content_bytes / s.max_decompressed_bytes
        return usage

    def _one_invocation(
        self, read_s: float, spool: float, rows: float, spilled_rows: float, admission: dict[str, float]
    ) -> Validation:
        """Read and finish in one invocation: the parts stay in `/tmp`, no transfer between stages."""
        c = self.costs
        spill = spilled_rows * c.spill_bytes_per_row
        finish_s = (
            spilled_rows * c.resolve_cpu_s_per_spilled_row / self.vcpu
            + (spool * c.exclude_cpu_s_per_gb / 1e9 / self.vcpu if spilled_rows else 0.0)
            + self._report_bytes(rows) / ASSUMED_S3_UPLOAD_BYTES_PER_S
            + self._send_calls(rows) * ASSUMED_SEND_BATCH_S
        )
        work_s = read_s + finish_s
        tmp = spool + spill + self._partition_tmp(spilled_rows)
        stage = Stage(
            "read and finish",
            legs=1,
            work_s=work_s,
            usage={
                "lambda timeout": work_s / self.budget_s,
                "lambda /tmp": tmp / self.tmp_bytes,
            },
            s3_gets=1,
            s3_puts=transfer_requests(self._report_bytes(rows)),
        )
        return Validation((stage,), one_invocation=True, admission=admission)

    def _read_legs(
        self,
        *,
        legs: int,
        read_s: float,
        spool: float,
        spilled_rows: float,
        share: float,
    ) -> Stage:
        """Read legs, each ending with its parts' upload; the largest is a full leg (`share` of the file)."""
        c = self.costs
        all_parts = spool + spilled_rows * c.spill_bytes_per_row
        parts = all_parts * share
        leg_s = read_s * share + parts / ASSUMED_S3_UPLOAD_BYTES_PER_S
        checkpoint = (
            CHECKPOINT_BASE_BYTES
            + legs * CHECKPOINT_BYTES_PER_LEG
            + DEFAULT_PARTITIONS * CHECKPOINT_BYTES_PER_PARTITION
        )
        spill_pieces = DEFAULT_PARTITIONS if spilled_rows else 0
        puts_per_leg = transfer_requests(spool * share) + 2 + spill_pieces  # spool, report, keys, pieces
        return Stage(
            "read",
            legs=legs,
            work_s=read_s + all_parts / ASSUMED_S3_UPLOAD_BYTES_PER_S,
            usage={
                "lambda timeout (read leg)": leg_s / self.budget_s,
                "lambda /tmp (read leg)": parts / self.tmp_bytes,
                "dynamodb item size (checkpoint)": checkpoint / DYNAMODB_MAX_ITEM_BYTES,
            },
            s3_gets=legs * 2,  # the ranged read and the previous leg's keys
            s3_puts=legs * puts_per_leg,
            sqs_requests=legs * 3,  # the next leg's request sent, received, deleted
            dynamodb_writes=legs,
        )

    def _partition_tmp(self, spilled_rows: float) -> float:
        """`/tmp` one spill partition takes while resolved: twice over when it is split again."""
        rows = spilled_rows / DEFAULT_PARTITIONS
        return rows * self.costs.spill_bytes_per_row * (2 if rows > DEFAULT_MAX_KEYS else 1)

    def _duplicates(self, spilled_rows: float, read_legs: int) -> Stage:
        c = self.costs
        rows = spilled_rows / DEFAULT_PARTITIONS
        piece_bytes = rows * c.spill_bytes_per_row
        per_partition_s = (
            piece_bytes / ASSUMED_S3_DOWNLOAD_BYTES_PER_S + rows * c.resolve_cpu_s_per_spilled_row / self.vcpu
        )
        tmp = self._partition_tmp(spilled_rows)
        return Stage(
            "duplicates",
            legs=self._packed_legs(DEFAULT_PARTITIONS, per_partition_s),
            work_s=DEFAULT_PARTITIONS * per_partition_s,
            usage={
                "lambda timeout (spill partition)": per_partition_s / self.budget_s,
                "lambda /tmp (spill partition)": tmp / self.tmp_bytes,
            },
            s3_gets=DEFAULT_PARTITIONS * read_legs,  # each leg's piece of each partition
            s3_puts=DEFAULT_PARTITIONS * read_legs,  # its late duplicates, split by segment
        )

    def _settle(self, spool: float, segment: float, segments: int) -> Stage:
        """Every segment rewritten (the worst case: each holds a late duplicate); the largest is `segment`."""
        s_per_byte = (
            1 / ASSUMED_S3_DOWNLOAD_BYTES_PER_S
            + self.costs.exclude_cpu_s_per_gb / 1e9 / self.vcpu
            + 1 / ASSUMED_S3_UPLOAD_BYTES_PER_S
        )
        per_segment_s = segment * s_per_byte
        return Stage(
            "settle",
            legs=self._packed_legs(segments, per_segment_s),
            work_s=spool * s_per_byte,
            usage={
                "lambda timeout (settle segment)": per_segment_s / self.budget_s,
                "lambda /tmp (settle segment)": segment / self.tmp_bytes,
            },
            s3_gets=segments * transfer_requests(segment),
            s3_puts=segments * transfer_requests(segment),
        )

    def _report_bytes(self, rows: float) -> float:
        return rows * topology.DEFAULT_MAX_INVALID_RATIO * ASSUMED_REPORT_BYTES_PER_INVALID_ROW

    def _verdict(self, rows: float) -> Stage:
        parts = max(1, math.ceil(self._report_bytes(rows) / REPORT_PART_BYTES))
        part_bytes = min(self._report_bytes(rows), REPORT_PART_BYTES)
        per_part_s = part_bytes / ASSUMED_S3_DOWNLOAD_BYTES_PER_S + part_bytes / ASSUMED_S3_UPLOAD_BYTES_PER_S
        return Stage(
            "verdict",
            legs=self._packed_legs(parts, per_part_s),
            work_s=parts * per_part_s,
            usage={
                "s3 multipart parts (report)": parts / S3_MAX_PARTS,
                "lambda timeout (report part)": per_part_s / self.budget_s,
            },
            s3_gets=parts * transfer_requests(part_bytes),
            s3_puts=parts + 2,  # each part, the upload's creation and completion
            dynamodb_writes=1,
        )

    def _send_calls(self, rows: float) -> float:
        """SendMessageBatch calls for `rows` valid rows: 10 messages a call, fewer when they are large."""
        s, c = self.settings, self.costs
        body = min(s.batch_rows * c.batch_message_bytes_per_row, INLINE_LIMIT) + ATTRIBUTES_ALLOWANCE
        per_call = max(1, min(MAX_ENTRIES, MAX_PAYLOAD_BYTES // int(body)))
        return math.ceil(rows / s.batch_rows) / per_call

    def _fanout(self, rows: float, spool: float, segment: float, segments: int) -> Stage:
        """Each segment downloaded, then its calls; a leg may stop after any call, and the next one
        downloads the segment it stopped in again."""
        download_s = segment / ASSUMED_S3_DOWNLOAD_BYTES_PER_S
        calls = self._send_calls(rows)
        work_s = spool / ASSUMED_S3_DOWNLOAD_BYTES_PER_S + calls * ASSUMED_SEND_BATCH_S
        legs = max(1, math.ceil(work_s / self.budget_s))
        return Stage(
            "fan-out",
            legs=legs,
            work_s=work_s + (legs - 1) * download_s,
            usage={
                "lambda /tmp (fan-out segment)": segment / self.tmp_bytes,
                "lambda timeout (fan-out segment)": (download_s + ASSUMED_SEND_BATCH_S) / self.budget_s,
            },
            s3_gets=(segments + legs - 1) * transfer_requests(segment),
            # its SendMessageBatch calls are priced with the load, which receives and deletes them
            dynamodb_writes=legs,
        )

    def _packed_legs(self, units: int, unit_s: float) -> int:
        """Legs for `units` of `unit_s` each, as many whole units a leg as its budget holds."""
        per_leg = max(1, int(self.budget_s // unit_s)) if unit_s > 0 else units
        return math.ceil(units / per_leg)
