"""`tenantctl validate`: the import's counts, status and first errors for a local file, without AWS."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tenantctl.cli import main

GOOD = "id,email,name,created_at\nc-1,a@example.com,Ann,2024-01-01T00:00:00Z\n"
ONE_BAD = (
    GOOD + "c-2,bob at example.com,Bob,2024-01-01T00:00:00Z\nc-3,c@example.com,Cy,2024-01-01T00:00:00Z\n"
)
NO_AT = "bad format: email has no '@' (expected name@example.com)"


def _run(tmp_path: Path, text: str, *args: str, name: str = "contacts.csv") -> int:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return main(["validate", str(path), "--entity", "contacts", *args])


def test_a_clean_file_would_succeed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, GOOD, "--json") == 0
    assert json.loads(capsys.readouterr().out) == {
        "total_rows": 1, "valid": 1, "invalid": 0, "status": "SUCCEEDED", "reason": None, "errors": []
    }  # fmt: skip


def test_a_file_with_a_bad_row_would_be_partial_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "errors.csv"
    assert _run(tmp_path, ONE_BAD, "--report", str(report)) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "contacts.csv: 3 rows, 2 valid, 1 invalid",
        "an import would end PARTIAL",
        f"  line 3  email: {NO_AT}",
    ]
    rows = list(csv.reader(report.open(encoding="utf-8")))
    assert rows[1] == [
        "3",
        "email",
        "bob at example.com",
        "bad format: email has no '@' (expected name@example.com)",
    ]


def test_over_the_invalid_limit_it_would_fail_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, ONE_BAD, "--max-invalid-ratio", "0.2", "--json") == 1
    result = json.loads(capsys.readouterr().out)
    assert (result["status"], result["invalid"]) == ("FAILED_VALIDATION", 1)
    assert result["reason"].startswith("1 of 3 rows are invalid (33.3%)")


def test_a_semicolon_file_is_named_as_such(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, GOOD.replace(",", ";"), "--json") == 1
    reason = json.loads(capsys.readouterr().out)["reason"]
    assert "looks separated by semicolons (;), not commas" in reason


def test_own_header_names_are_accepted_with_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD.replace("id,", "Kundennummer,", 1)
    assert _run(tmp_path, text, "--map", "Kundennummer=id", "--json") == 0
    assert json.loads(capsys.readouterr().out)["valid"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--entity", "invoices"], "unknown entity type 'invoices' (known: contacts, orders)"),
        (["--entity", "contacts", "--map", "Mail"], "expected NAME=COLUMN, got 'Mail'"),
        (
            ["--entity", "contacts", "--max-invalid-ratio", "2"],
            "--max-invalid-ratio must be between 0 and 1, got 2.0",
        ),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(GOOD)
    assert main(["validate", str(path), *args]) == 2
    assert capsys.readouterr().err == f"tenantctl: error: {message}\n"
