"""Settings from the environment named by the topology."""

from __future__ import annotations

import pytest

from tenant_pipeline import topology
from tenant_pipeline.errors import InvalidSettingError, MissingSettingError
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.topology import Resource, Tunable


def test_names_and_tunables_come_from_the_topologys_variables() -> None:
    settings = PipelineSettings.from_env(
        {Resource.JOBS_TABLE.env_var: "jobs", Tunable.BATCH_ROWS.value: "100", "AWS_REGION": "eu-west-1"}
    )
    assert settings.name(Resource.JOBS_TABLE) == "jobs"
    assert settings.batch_rows == 100
    assert settings.region == "eu-west-1"
    assert settings.batches_max_receive_count == topology.BATCHES_QUEUE.max_receive_count


def test_a_missing_name_says_which_variable_to_set() -> None:
    with pytest.raises(MissingSettingError, match=Resource.TENANTS_TABLE.env_var):
        PipelineSettings.from_env({}).name(Resource.TENANTS_TABLE)


@pytest.mark.parametrize("raw", ["zero", "0", "-3"])
def test_a_bad_tunable_is_refused(raw: str) -> None:
    with pytest.raises(InvalidSettingError, match=Tunable.BATCH_ROWS.value):
        PipelineSettings.from_env({Tunable.BATCH_ROWS.value: raw})


def test_a_validation_leg_reads_at_most_the_shipped_cap_unless_told_and_zero_means_one_batch() -> None:
    assert PipelineSettings.from_env({}).validation_leg_s == topology.VALIDATION_LEG_READ_S == 120
    leg = Tunable.VALIDATION_LEG_SECONDS.value
    assert PipelineSettings.from_env({leg: "0"}).validation_leg_s == 0
    assert PipelineSettings.from_env({leg: "2.5"}).validation_leg_s == 2.5


@pytest.mark.parametrize("raw", ["soon", "-1", "nan"])
def test_a_bad_leg_cap_is_refused(raw: str) -> None:
    with pytest.raises(InvalidSettingError, match=Tunable.VALIDATION_LEG_SECONDS.value):
        PipelineSettings.from_env({Tunable.VALIDATION_LEG_SECONDS.value: raw})


def test_the_next_validation_legs_request_waits_two_seconds_unless_told_otherwise() -> None:
    delay = Tunable.VALIDATION_HANDOVER_DELAY_S.value
    assert PipelineSettings.from_env({}).validation_handover_delay_s == 2
    assert PipelineSettings.from_env({delay: "0"}).validation_handover_delay_s == 0
    assert PipelineSettings.from_env({delay: "900"}).validation_handover_delay_s == 900


@pytest.mark.parametrize("raw", ["-1", "901", "1.5", "soon"])
def test_a_delay_sqs_would_refuse_is_refused(raw: str) -> None:
    with pytest.raises(InvalidSettingError, match=Tunable.VALIDATION_HANDOVER_DELAY_S.value):
        PipelineSettings.from_env({Tunable.VALIDATION_HANDOVER_DELAY_S.value: raw})


@pytest.mark.parametrize("raw", ["900", "1200", "0"])
def test_a_migration_leg_reserve_that_leaves_a_leg_no_time_is_refused(raw: str) -> None:
    with pytest.raises(InvalidSettingError, match=Tunable.MIGRATION_LEG_RESERVE_S.value):
        PipelineSettings.from_env({Tunable.MIGRATION_LEG_RESERVE_S.value: raw})
    settings = PipelineSettings.from_env({Tunable.MIGRATION_LEG_RESERVE_S.value: "899"})
    assert settings.migration_leg_reserve_s == 899
