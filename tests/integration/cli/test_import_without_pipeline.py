"""`tenantctl import --wait` against a local AWS whose pipeline is not running: it says why, quickly."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from tenantctl.cli import main
from tenantctl.local.provision import provision_region
from tenantctl.local.server import LocalServer
from tenantctl.target import Target

REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    saved = dict(os.environ)
    server = LocalServer(port=0)
    url = server.start()
    try:
        provision_region(url, REGION)
        Target.resolve(local=False, endpoint_url=url, region=REGION).directory().create("acme", REGION)
        yield url
    finally:
        server.stop()
        os.environ.clear()
        os.environ.update(saved)


def test_no_job_is_explained_within_the_find_timeout(
    endpoint: str, tmp_path: os.PathLike[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given resources but no validator consuming the ingest queue
    path = os.path.join(tmp_path, "contacts.csv")
    with open(path, "w") as out:
        out.write("id,email\nc-1,a@example.com\n")
    started = time.monotonic()
    # When a user imports and waits
    wait = ["--wait", "--find-timeout", "2"]
    code = main(["--endpoint-url", endpoint, "--region", REGION, "import", "acme", "contacts", path, *wait])
    # Then it gives up after the find timeout, not the whole wait, and names the cause
    assert code == 1
    assert time.monotonic() - started < 30
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "no job for s3://" in error
    assert "wait in the ingest and validation queues and no function takes them" in error


def test_help_shows_every_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 300)" in text and "(default: 30)" in text
