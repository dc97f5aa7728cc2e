"""Client sessions: each its own, all on one botocore data loader (service models loaded once a process)."""

from __future__ import annotations

import boto3
import pytest

from tenant_pipeline.aws import AwsClients, new_session


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def _loader(session: boto3.session.Session) -> object:
    return session._session.get_component("data_loader")


def test_sessions_are_separate_but_share_the_data_loader() -> None:
    first, second = new_session("us-east-1"), new_session("eu-west-1")
    assert first is not second and first._session is not second._session
    assert (first.region_name, second.region_name) == ("us-east-1", "eu-west-1")
    assert _loader(first) is _loader(second)


def test_the_shared_loader_search_paths_do_not_grow_with_sessions() -> None:
    paths = list(_loader(new_session()).search_paths)  # type: ignore[attr-defined]
    for _ in range(5):
        new_session()
    assert _loader(new_session()).search_paths == paths  # type: ignore[attr-defined]
    assert len(set(paths)) == len(paths)
    assert any(path.endswith("boto3/data") for path in paths)  # resources still load


def test_clients_of_every_region_share_the_loaded_models() -> None:
    clients = AwsClients(region="us-east-1", endpoint_url="http://127.0.0.1:1")
    other = clients.for_region("eu-west-1")
    s3, other_s3 = clients.s3, other.s3
    assert s3 is not other_s3
    assert s3.meta.region_name == "us-east-1" and other_s3.meta.region_name == "eu-west-1"
    described = [c.meta.service_model._service_description for c in (s3, other_s3)]  # type: ignore[attr-defined]
    assert described[0] is described[1]


def test_resources_still_work_on_the_shared_loader() -> None:
    table = new_session("us-east-1").resource("dynamodb", endpoint_url="http://127.0.0.1:1").Table("t")
    assert table.name == "t"
