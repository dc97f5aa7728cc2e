"""Why an upload has no job yet: a rejected upload, notifications nobody consumes, or none sent at all."""

from __future__ import annotations

from tenant_pipeline.topology import Resource
from tenantctl.target import Target


def queue_depth(target: Target, resource: Resource, region: str) -> int:
    """Messages waiting in a queue or held by a consumer."""
    attributes = target.clients(region).sqs.get_queue_attributes(
        QueueUrl=target.name(resource, region),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
        attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
    )


def notifies(target: Target, region: str, bucket: str, key: str) -> bool:
    """Whether the bucket sends an ObjectCreated notification to a queue for this key."""
    config = target.clients(region).s3.get_bucket_notification_configuration(Bucket=bucket)
    for queue in config.get("QueueConfigurations", []):
        if not any(event.startswith("s3:ObjectCreated") for event in queue.get("Events", [])):
            continue
        rules = queue.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        prefix = next((rule["Value"] for rule in rules if rule["Name"].lower() == "prefix"), "")
        suffix = next((rule["Value"] for rule in rules if rule["Name"].lower() == "suffix"), "")
        if key.startswith(prefix) and key.endswith(suffix):
            return True
    return False


def why_no_job(target: Target, region: str, bucket: str, key: str) -> str:
    """The most likely reason, from what the endpoint shows, in one clause."""
    if not notifies(target, region, bucket, key):
        return f"the ingest bucket {bucket} sends no notification for this key"
    waiting = queue_depth(target, Resource.INGEST_QUEUE, region) + queue_depth(
        target, Resource.VALIDATION_QUEUE, region
    )
    if waiting:
        return (
            f"{waiting} notification(s) wait in the ingest and validation queues and no function takes "
            f"them: is the import pipeline running at {target.display_endpoint} (`tenantctl local up`)?"
        )
    for dlq in (Resource.INGEST_DLQ, Resource.VALIDATION_DLQ):
        dead = queue_depth(target, dlq, region)
        if dead:
            return (
                f"the dead-letter queue {dlq} holds {dead} notification(s) that failed on every attempt "
                f"(`tenantctl redrive {dlq}` retries them)"
            )
    return "no notification of the upload reached the ingest queue, and nothing waits there"
