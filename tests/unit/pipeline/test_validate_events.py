"""The validator reads real S3 notification shapes: direct, inside SQS, and S3's test event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.import_validate import handler
from functions.import_validate.handler import object_created_events

EVENTS = Path(__file__).resolve().parents[2] / "events"


def test_a_direct_s3_event_gives_the_decoded_key_and_version() -> None:
    event = json.loads((EVENTS / "s3_object_created.json").read_text())
    (created,) = object_created_events(S3Event(event))
    assert created.bucket == "tenant-pipelines-ingest-bucket-us-east-1"
    assert created.key == "tenants/acme/imports/contacts/my contacts (2025).csv"
    assert created.version_id == "096fKKXTRTtl3on89fVO.nfljtsv6qko"
    assert created.etag == "d41d8cd98f00b204e9800998ecf8427e"


def test_an_s3_notification_inside_an_sqs_record_is_the_same_event() -> None:
    record = json.loads((EVENTS / "sqs_s3_object_created.json").read_text())["Records"][0]
    direct = json.loads((EVENTS / "s3_object_created.json").read_text())
    nested = SQSRecord(record).decoded_nested_s3_event
    assert list(object_created_events(nested)) == list(object_created_events(S3Event(direct)))


def test_s3_test_events_and_other_event_kinds_yield_nothing() -> None:
    record = json.loads((EVENTS / "sqs_s3_test_event.json").read_text())["Records"][0]
    assert list(object_created_events(SQSRecord(record).decoded_nested_s3_event)) == []
    removed = json.loads((EVENTS / "s3_object_created.json").read_text())
    removed["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert list(object_created_events(S3Event(removed))) == []


def test_a_record_without_a_key_is_skipped_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(handler.logger, "warning", lambda message, **_: warnings.append(message))
    event = json.loads((EVENTS / "s3_object_created.json").read_text())
    keyless = json.loads(json.dumps(event["Records"][0]))
    del keyless["s3"]["object"]["key"]
    event["Records"].insert(0, keyless)
    (created,) = object_created_events(S3Event(event))
    assert created.key == "tenants/acme/imports/contacts/my contacts (2025).csv"
    assert warnings == ["S3 record without bucket or key"]
