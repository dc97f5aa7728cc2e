"""Where alarms go: one SNS topic per stack, and the people subscribed to it."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class AlertTopic(Construct):
    """An encrypted, TLS-only topic that every alarm notifies (on ALARM and back to OK).

    Subscribe a person with context `alarmEmail` (AWS mails a confirmation link first), or any
    other endpoint (chat, paging) to the topic published as the `AlertTopic` output.
    """

    def __init__(self, scope: Construct, construct_id: str, *, email: str | None = None) -> None:
        super().__init__(scope, construct_id)
        # CloudWatch cannot publish to a topic under the AWS-managed SNS key: it needs a key whose
        # policy lets the CloudWatch service use it.
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the alarm topic's messages",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.topic = sns.Topic(self, "Topic", master_key=self.key, enforce_ssl=True)
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self._action = cloudwatch_actions.SnsAction(self.topic)

    def notify_on(self, alarm: cloudwatch.Alarm) -> None:
        """The alarm tells the topic when it fires and when it recovers."""
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
