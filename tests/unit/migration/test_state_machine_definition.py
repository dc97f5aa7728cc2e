"""The tenant-migration ASL: valid, every Task runs the migration function, no path cuts over unverified."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenant_pipeline.migration import errors
from tenant_pipeline.migration.dispatch import PHASES

ROOT = Path(__file__).resolve().parents[3]
DEFINITION = ROOT / "infra" / "statemachines" / "tenant_migration.asl.json"
VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"


@pytest.fixture(scope="module")
def asl() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DEFINITION.read_text())
    return document


def _all_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        if state["Type"] == "Map":
            yield from _all_states(state["ItemProcessor"]["States"])


def _next_states(state: dict[str, Any]) -> list[str]:
    targets = [state.get("Next"), state.get("Default")]
    targets += [choice["Next"] for choice in state.get("Choices", [])]
    targets += [catcher["Next"] for catcher in state.get("Catch", [])]
    return [target for target in targets if target]


@pytest.mark.skipif(shutil.which("node") is None or not VALIDATOR.exists(), reason="npm tools not installed")
def test_asl_validator_accepts_the_definition() -> None:
    run = subprocess.run(
        [str(VALIDATOR), "--json-path", str(DEFINITION)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "is valid" in run.stdout


def test_every_task_invokes_the_migration_function_with_a_known_phase(asl: dict[str, Any]) -> None:
    tasks = [(name, state) for name, state in _all_states(asl["States"]) if state["Type"] == "Task"]
    assert len(tasks) >= 8
    for name, state in tasks:
        assert state["Resource"] == "arn:aws:states:::lambda:invoke", name
        assert state["Parameters"]["FunctionName"] == "${MigrationFunctionArn}", name
        assert state["Parameters"]["Payload"]["phase"] in PHASES, name


def test_retried_error_names_are_exceptions_the_phases_raise(asl: dict[str, Any]) -> None:
    for name, state in _all_states(asl["States"]):
        for retrier in state.get("Retry", []):
            assert retrier["BackoffRate"] > 1, name
            for error in retrier["ErrorEquals"]:
                assert error.startswith("Lambda.") or error == "ThrottledError" or hasattr(errors, error), (
                    error
                )


def test_every_phase_after_the_freeze_rolls_back_on_any_error(asl: dict[str, Any]) -> None:
    for name in ("FreezeWrites", "Snapshot", "Transfer", "LoadTarget", "Verify", "Cutover"):
        catchers = asl["States"][name]["Catch"]
        assert any("States.ALL" in c["ErrorEquals"] and c["Next"] == "Rollback" for c in catchers), name


def test_cutover_is_reachable_only_through_a_passed_verification(asl: dict[str, Any]) -> None:
    states = asl["States"]
    predecessors = {name for name, state in states.items() if "Cutover" in _next_states(state)}
    assert predecessors == {"IntegrityPassed"}
    choice = states["IntegrityPassed"]
    assert choice["Choices"] == [{"Variable": "$.verify.match", "BooleanEquals": True, "Next": "Cutover"}]
    assert choice["Default"] != "Cutover"
    # and only a finished verification (its last leg) leads into the choice
    assert {name for name, state in states.items() if "IntegrityPassed" in _next_states(state)} == {
        "VerifyDone"
    }
    assert states["VerifyDone"]["Choices"] == [
        {"Variable": "$.verify.done", "BooleanEquals": True, "Next": "IntegrityPassed"}
    ]
    assert states["VerifyDone"]["Default"] == "Verify"


def test_validation_precedes_the_freeze_and_is_not_caught(asl: dict[str, Any]) -> None:
    # the only state before validation fills in defaults; it runs no task
    defaults = asl["States"][asl["StartAt"]]
    assert defaults["Type"] == "Pass"
    assert defaults["Next"] == "ValidateRequest"
    validate = asl["States"]["ValidateRequest"]
    assert validate["Next"] == "FreezeWrites"
    assert "Catch" not in validate  # a bad request fails the execution with its own error, nothing to undo


def test_every_state_is_reachable_and_every_transition_exists(asl: dict[str, Any]) -> None:
    states = asl["States"]
    seen, todo = set(), [asl["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(target for target in _next_states(states[name]) if target in states)
        assert all(target in states for target in _next_states(states[name])), name
    assert seen == set(states)


def test_chunks_load_through_a_distributed_map_reading_the_chunk_index_from_s3(asl: dict[str, Any]) -> None:
    load = asl["States"]["LoadTarget"]
    assert load["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert load["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] in ("STANDARD", "EXPRESS")
    reader = load["ItemReader"]
    assert reader["Resource"] == "arn:aws:states:::s3:getObject"
    assert reader["ReaderConfig"]["InputType"] == "JSON"
    assert reader["Parameters"] == {"Bucket": "${SnapshotBucket}", "Key.$": "$.snapshot.chunk_index_key"}
    assert "ItemsPath" not in load and "Items" not in load
    assert (
        1 <= load["MaxConcurrency"] <= 10_000
    )  # Step Functions runs at most 10,000 child executions at once
    # the children's results go to S3, and none comes back into the execution state
    assert load["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    assert load["ResultPath"] is None


def test_no_state_carries_a_list_of_chunks(asl: dict[str, Any]) -> None:
    snapshot = asl["States"]["Snapshot"]["ResultSelector"]
    assert snapshot["chunk_index_key.$"] == "$.Payload.chunk_index_key"
    text = json.dumps(asl)
    assert "$.snapshot.chunks" not in text  # the count may be kept; nothing reads it as items


@pytest.mark.parametrize("phase", ["Snapshot", "Transfer", "Verify"])
def test_snapshot_transfer_and_verify_loop_over_legs_fed_by_their_cursor(
    asl: dict[str, Any], phase: str
) -> None:
    states = asl["States"]
    path = phase.lower()
    task, begin, done = states[phase], states[f"Begin{phase}"], states[f"{phase}Done"]
    # the first leg gets an empty cursor; each later one the cursor the previous leg returned
    assert (begin["Type"], begin["Result"], begin["ResultPath"], begin["Next"]) == (
        "Pass",
        {"done": False, "cursor": {}},
        f"$.{path}",
        phase,
    )
    assert task["Parameters"]["Payload"]["cursor.$"] == f"$.{path}.cursor"
    assert task["ResultSelector"]["cursor.$"] == "$.Payload.cursor"
    assert task["ResultSelector"]["done.$"] == "$.Payload.done"
    assert task["ResultPath"] == f"$.{path}"
    # the Choice loops back to the task until a leg says done
    assert task["Next"] == f"{phase}Done"
    assert done["Type"] == "Choice"
    assert done["Default"] == phase
    (rule,) = done["Choices"]
    assert (rule["Variable"], rule["BooleanEquals"]) == (f"$.{path}.done", True)
    # and only the Begin state (and the loop) enter the task, so no leg starts without a cursor
    into_task = {name for name, state in states.items() if phase in _next_states(state)}
    assert into_task == {f"Begin{phase}", f"{phase}Done"}
