from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(params=["kernel", "pure-python"])
def both_paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test with the C kernel, then with the pure-Python validator (same expectations)."""
    monkeypatch.setenv("TENANT_PIPELINE_NATIVE", "1" if request.param == "kernel" else "0")
    yield request.param
