"""What the legs of a validation keep between invocations: the checkpoint survives the job item's JSON,
and the report joined part by part is its parts' lines under one header, however the parts fall."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenant_pipeline.imports import legs as legs_module
from tenant_pipeline.imports.legs import (
    REPORT_HEADER,
    LegCheckpoint,
    LegParts,
    ReportUpload,
    Segment,
    Stage,
)
from tenant_pipeline.validation import ReadCheckpoint


class _Objects:
    """The part of `ObjectStore` a report join uses, in memory, with S3's rules for ranges and parts."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.uploads: dict[str, dict[int, bytes]] = {}
        self.part_sizes: list[int] = []

    def read_range(self, bucket: str, key: str, start: int, size: int) -> bytes:
        return self.objects[key][start : start + size]

    def start_upload(self, bucket: str, key: str, content_type: str) -> str:
        self.uploads[f"u{len(self.uploads)}"] = {}
        return f"u{len(self.uploads) - 1}"

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int, body: bytes) -> None:
        self.uploads[upload_id][number] = body

    def complete_upload(self, bucket: str, key: str, upload_id: str) -> str:
        parts = self.uploads.pop(upload_id)
        assert sorted(parts) == list(range(1, len(parts) + 1))
        self.objects[key] = b"".join(parts[n] for n in sorted(parts))
        self.part_sizes = [len(parts[n]) for n in sorted(parts)]
        return f"s3://{bucket}/{key}"

    def exists(self, bucket: str, key: str) -> bool:
        return key in self.objects


lines = st.lists(
    st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"\r\n", b"") + b"\r\n"), max_size=8
)


@given(parts=st.lists(lines, min_size=1, max_size=6), part_bytes=st.integers(1, 64))
def test_the_joined_report_is_every_parts_lines_under_one_header(
    parts: list[list[bytes]], part_bytes: int
) -> None:
    # Given report parts (each with its header) and parts of the joined object of `part_bytes`
    keys = [f"legs/{n}/errors.csv" for n in range(len(parts))]
    objects = _Objects({key: REPORT_HEADER + b"".join(body) for key, body in zip(keys, parts, strict=True)})
    store = LegParts(objects, "bucket", "acme", "job")  # type: ignore[arg-type]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(legs_module, "REPORT_PART_BYTES", part_bytes)
        # When it is joined one part per call, each call going on from where the last stopped (as legs do)
        upload: ReportUpload | None = store.start_report("report.csv")
        uploaded = []
        while upload is not None:
            uploaded.append(upload)
            # the state travels through JSON, as the checkpoint does
            upload = store.join_report(
                keys, "report.csv", ReportUpload(**json.loads(json.dumps(upload.__dict__)))
            )
        store.complete_report("report.csv", uploaded[0])
    # Then the object is one header and every part's lines in order, in parts of `part_bytes` but the last
    assert objects.objects["report.csv"] == REPORT_HEADER + b"".join(b"".join(body) for body in parts)
    *full, last = objects.part_sizes
    assert full == [part_bytes] * len(full)
    assert 0 < last <= part_bytes


def test_a_checkpoint_survives_the_job_items_json() -> None:
    checkpoint = LegCheckpoint(
        leg=7,
        stage=Stage.FANOUT,
        read_point=ReadCheckpoint(offset=1234, line=56),
        total=10,
        invalid=3,
        read=10,
        keys_passed=7,
        keys_spilling=True,
        spilled=((1, (0, 5)), (2, (5,))),
        renamed={"Kundennummer": "id"},
        segments=(Segment(4, 2), Segment(3, 1, settled_rows=2, settled_batches=1)),
        late=((2, (5,)),),
        next_segment=2,
        sent=1,
        report=ReportUpload("u1", 3, 1, 40),
        report_uri="s3://b/r.csv",
        started_ns=1,
        read_s=0.5,
        check_s=0.25,
        pass_ended_ns=2,
        fanout_started_ns=3,
    )
    assert LegCheckpoint.from_dict(json.loads(json.dumps(checkpoint.to_dict()))) == checkpoint
    # and it numbers each segment's batches and ordinals on from the segments before
    assert (checkpoint.first_ordinal(2), checkpoint.first_batch(2), checkpoint.first_batch(3)) == (4, 3, 4)
