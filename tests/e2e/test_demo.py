"""`tenantctl demo` (what `make demo` runs): it leaves its export to open and says what to try next."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import TENANTCTL, _environment

pytestmark = pytest.mark.e2e


def test_demo_leaves_its_export_and_shows_a_report_and_next_steps(tmp_path: Path) -> None:
    result = subprocess.run(
        [TENANTCTL, "demo"],
        capture_output=True,
        text=True,
        env=_environment(),
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # A few lines of the error report of the file with invalid rows
    lines = out.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("error report of job"))
    report = lines[start + 1 :]
    assert report[0].split() == ["LINE", "FIELD", "VALUE", "REASON"]
    assert [line.split()[0] for line in report[1:4]] == ["8", "16", "24"]
    # The export stays where the user can open it
    export = tmp_path / "demo-export"
    manifest = json.loads((export / "manifest.json").read_text())
    assert sorted(path.name for path in export.iterdir()) == ["contacts.csv", "manifest.json", "orders.csv"]
    assert manifest["tenant_id"] == "acme"
    assert "the export is in demo-export/" in out
    # And it ends with what to try next
    tail = out[out.index("try next:") :]
    assert 'eval "$(tenantctl local env)"' in tail and "tenantctl local down" in tail
