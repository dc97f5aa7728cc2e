"""The validator reads real S3 notification shapes: direct, inside SQS, and S3's test event."""

from __future__ import annotations

import json
from pathlib import Path

from functions.import_validate.handler import object_created_events

EVENTS = Path(__file__).resolve().parents[2] / "events"


def test_a_direct_s3_event_gives_the_decoded_key_and_version() -> None:
    event = json.loads((EVENTS / "s3_object_created.json").read_text())
    (created,) = object_created_events(event)
    assert created.bucket == "tenant-pipelines-ingest-bucket-us-east-1"
    assert created.key == "tenants/acme/imports/contacts/my contacts (2025).csv"
    assert created.version_id == "096fKKXTRTtl3on89fVO.nfljtsv6qko"
    assert created.etag == "d41d8cd98f00b204e9800998ecf8427e"


def test_an_s3_notification_inside_an_sqs_record_is_the_same_event() -> None:
    record = json.loads((EVENTS / "sqs_s3_object_created.json").read_text())["Records"][0]
    direct = json.loads((EVENTS / "s3_object_created.json").read_text())
    assert list(object_created_events(json.loads(record["body"]))) == list(object_created_events(direct))


def test_s3_test_events_and_other_event_kinds_yield_nothing() -> None:
    record = json.loads((EVENTS / "sqs_s3_test_event.json").read_text())["Records"][0]
    assert list(object_created_events(json.loads(record["body"]))) == []
    removed = json.loads((EVENTS / "s3_object_created.json").read_text())
    removed["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert list(object_created_events(removed)) == []
