"""The policy evaluator behind test_iam_allows_every_aws_call_the_code_makes, on policies written here."""

from __future__ import annotations

import json

import pytest

from tests.terraform.iam_calls import Unjudgeable, allows

METRICS = {
    "Effect": "Allow",
    "Action": "cloudwatch:PutMetricData",
    "Resource": "*",
    "Condition": {"StringEquals": {"cloudwatch:namespace": "HomebrewSync"}},
}
OBJECTS = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::m/runs/*"}


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_action_and_resource_wildcards():
    assert allows(policy(OBJECTS), "s3:PutObject", "arn:aws:s3:::m/runs/r1/summary.json")
    assert not allows(policy(OBJECTS), "s3:DeleteObject", "arn:aws:s3:::m/runs/r1/summary.json")
    assert not allows(policy(OBJECTS), "s3:PutObject", "arn:aws:s3:::m/bottles_hash.json")


def test_a_condition_must_hold_for_the_request():
    assert allows(policy(METRICS), "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "HomebrewSync"})
    assert not allows(policy(METRICS), "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "Other"})
    assert not allows(policy(METRICS), "cloudwatch:PutMetricData", "*")  # the request does not carry the key


def test_if_exists_passes_a_request_without_the_key():
    lenient = {**METRICS, "Condition": {"StringEqualsIfExists": {"cloudwatch:namespace": "HomebrewSync"}}}
    assert allows(policy(lenient), "cloudwatch:PutMetricData", "*")
    assert not allows(policy(lenient), "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "Other"})


def test_an_explicit_deny_wins():
    deny = {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::m/runs/locked/*"}
    assert not allows(policy(OBJECTS, deny), "s3:PutObject", "arn:aws:s3:::m/runs/locked/x")
    assert allows(policy(OBJECTS, deny), "s3:PutObject", "arn:aws:s3:::m/runs/open/x")


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::m/*"},
        {**METRICS, "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}},
        {**METRICS, "Condition": {"NumericLessThan": {"s3:max-keys": "10"}}},
    ],
    ids=["NotAction", "NotResource", "set operator", "unmodelled operator"],
)
def test_what_is_not_modelled_fails_instead_of_passing(statement):
    with pytest.raises(Unjudgeable):
        allows(policy(METRICS, statement), "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "HomebrewSync"})
