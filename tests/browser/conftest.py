from __future__ import annotations

import pytest

from tests.browser.chromium import ChromiumUnavailableError, find_or_install_chromium


@pytest.fixture(scope="session")
def chromium() -> str:
    try:
        return find_or_install_chromium()
    except ChromiumUnavailableError as exc:
        pytest.skip(f"no headless browser: {exc}")
