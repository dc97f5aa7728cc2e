"""Dependencies are built at the first invocation, kept for the environment's life, rebuilt after a reset."""

from __future__ import annotations

import importlib

import pytest

from tenant_pipeline.cold_start import ColdStart
from tenant_pipeline.topology import FUNCTIONS


def test_built_once_on_first_use_and_again_after_a_reset() -> None:
    builds: list[int] = []
    cold_start = ColdStart(lambda: builds.append(len(builds)) or object())
    assert builds == []  # nothing at declaration (module import)
    first = cold_start.get()
    assert cold_start.get() is first and builds == [0]
    cold_start.reset()
    assert cold_start.get() is not first and builds == [0, 1]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda function: function.name)
def test_every_handler_builds_its_dependencies_one_way(function: object) -> None:
    module = importlib.import_module(function.module)  # type: ignore[attr-defined]
    assert isinstance(module.dependencies, ColdStart)
    assert hasattr(module.Dependencies, "from_env")
