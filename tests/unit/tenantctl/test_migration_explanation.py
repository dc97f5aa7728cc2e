"""`tenantctl explain` of a migration, on hand-built ledger records: phases, transitions, rates, chunks."""

from __future__ import annotations

import json
from typing import Any

from tenant_pipeline.migration.chunk_timing import ChunkTiming
from tenant_pipeline.migration.ledger import MigrationRecord, MigrationStatus
from tenantctl.migration_explanation import explain_migration, render_migration_explanation

MS = 1_000_000
T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


def _at(ms: int) -> str:
    return f"2026-01-01T00:00:{ms // 1000:02d}.{ms % 1000:03d}Z"


def _phase(start_ms: int, end_ms: int) -> str:
    return json.dumps({"status": "done", "started_at": _at(start_ms), "finished_at": _at(end_ms)})


def _record(ending: str = "cutover", **fields: Any) -> MigrationRecord:
    # validate 0-200, freeze 300-400, snapshot 500-1,500, transfer 1,600-2,000, (load), verify 6,000-6,500,
    # cutover or rollback 6,600-6,800, finished at 6,900
    return MigrationRecord(
        migration_id="acme-20260101T000000Z-abc123",
        tenant_id="acme",
        source_region="us-east-1",
        target_region="eu-west-1",
        status=MigrationStatus.SUCCEEDED if ending == "cutover" else MigrationStatus.ROLLED_BACK,
        started_at=_at(0),
        fields={
            "phase_validate": _phase(0, 200),
            "phase_freeze": _phase(300, 400),
            "phase_snapshot": _phase(500, 1_500),
            "phase_transfer": _phase(1_600, 2_000),
            "phase_verify": _phase(6_000, 6_500),
            f"phase_{ending}": _phase(6_600, 6_800),
            "finished_at": _at(6_900),
            "record_count": 3_000,
            "target_record_count": 3_000,
            "load_records": 3_000,
            "load_chunks": 3,
            **fields,
        },
    )


def _chunk(number: int, start_ms: int, end_ms: int, **extra: Any) -> dict[str, Any]:
    return ChunkTiming(
        chunk=number,
        records=1_000,
        started_ns=T0 + start_ms * MS,
        read_s=0.1,
        write_started_ns=T0 + (start_ms + 100) * MS,
        write_ended_ns=T0 + (end_ms - 10) * MS,
        throttled_retries=extra.get("retries", 0),
        throttled_s=extra.get("throttled_s", 0.0),
        ended_ns=T0 + end_ms * MS,
    ).to_dict()


# Three chunks, two at once: the load runs 2,100-3,100 and 3,500-5,500.
CHUNKS = [
    _chunk(0, 2_100, 3_100),
    _chunk(1, 3_500, 5_500, retries=3, throttled_s=0.8),
    _chunk(2, 3_600, 4_000),
]


def _seconds(record: MigrationRecord, chunks: list[dict[str, Any]]) -> dict[str, float]:
    explanation = explain_migration(record, chunks, now_ns=T0)
    return {phase.name: round(phase.seconds, 6) for phase in explanation.phases}


def test_each_phase_takes_its_recorded_time_and_the_gaps_are_transitions() -> None:
    seconds = _seconds(_record(), CHUNKS)

    assert seconds == {
        "validate": 0.2,
        "freeze": 0.1,
        "snapshot": 1.0,
        "transfer": 0.4,
        "load": 3.0,  # overlapping chunks count once
        "verify": 0.5,
        "cutover": 0.2,
        "completion": 0.1,
        "transitions": 1.4,  # 100 ms before each of 5 phases, 100 before the load, 400 inside it, 500 after
    }
    assert round(sum(seconds.values()), 6) == 6.9


def test_a_phase_run_in_legs_counts_its_legs_and_the_time_between_them_goes_to_transitions() -> None:
    # Given a snapshot of three legs from 500 to 1,500 ms that worked 600 ms in all
    legged = {
        "status": "done",
        "started_at": _at(500),
        "finished_at": _at(1_500),
        "duration_s": 0.6,
        "legs": 3,
    }
    seconds = _seconds(_record(phase_snapshot=json.dumps(legged)), CHUNKS)
    # Then the snapshot takes the sum of its legs, and the 400 ms between them are transitions
    assert seconds["snapshot"] == 0.6
    assert seconds["transitions"] == 1.8
    assert round(sum(seconds.values()), 6) == 6.9


def test_the_binding_phase_rates_and_slowest_chunks() -> None:
    explanation = explain_migration(_record(), CHUNKS, now_ns=T0)
    phases = {phase.name: phase for phase in explanation.phases}

    assert explanation.binding == (
        "The migration was bound by load (writing the snapshot's chunks into the target table): "
        "43% of its 6.90 s wall time; next came transitions at 20%."
    )
    assert phases["load"].rows_per_second == 1_000.0
    assert phases["snapshot"].rows_per_second == 3_000.0
    assert phases["freeze"].rows_per_second is None
    assert round(explanation.items_per_second, 3) == round(3_000 / 6.9, 3)
    assert [chunk.chunk for chunk in explanation.slowest_chunks] == [1, 0, 2]
    assert explanation.to_dict()["slowest_chunks"][0]["throttled_retries"] == 3


def test_a_rolled_back_migration_shows_its_rollback() -> None:
    seconds = _seconds(_record("rollback"), CHUNKS)

    assert "cutover" not in seconds
    assert (seconds["rollback"], seconds["completion"]) == (0.2, 0.1)


def test_without_chunk_timings_the_load_runs_from_its_first_start_to_its_last_end() -> None:
    record = _record(load_first_start=(T0 + 2_100 * MS) / 1e9, load_last_end=(T0 + 5_500 * MS) / 1e9)

    assert _seconds(record, [])["load"] == 3.4


def test_a_running_migration_is_explained_up_to_now() -> None:
    record = _record()
    fields = {name: value for name, value in record.fields.items() if name not in ("finished_at",)}
    running = MigrationRecord(**{**record.__dict__, "fields": fields, "status": MigrationStatus.RUNNING})

    explanation = explain_migration(running, CHUNKS, now_ns=T0 + 10_000 * MS)

    assert explanation.wall_seconds == 10.0
    assert {phase.name: phase.seconds for phase in explanation.phases}["completion"] == 0.0


def test_the_human_form_lists_phases_and_the_slowest_chunks() -> None:
    lines = render_migration_explanation(explain_migration(_record(), CHUNKS, now_ns=T0))

    text = "\n".join(lines)
    assert lines[0] == (
        "migration acme-20260101T000000Z-abc123 (SUCCEEDED): 3,000 items in 6.90 s (435 items/s)"
    )
    assert "transitions" in text and "slowest load chunks (of 3):" in text
    assert "chunk      1    1,000 items" in text
