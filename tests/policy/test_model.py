"""Parsing: normalisation once, every input shape, one clear error type for bad input."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.model import PolicyError, document_to_json, parse_policy

GOOD = {
    "Version": "2012-10-17",
    "Statement": {"Sid": "One", "Effect": "Allow", "Action": "S3:GetObject", "Resource": "arn:aws:s3:::b/*"},
}


@pytest.mark.parametrize(
    "given_as",
    [GOOD, json.dumps(GOOD), urllib.parse.quote(json.dumps(GOOD)), json.dumps(GOOD).encode()],
    ids=["object", "json", "url-encoded", "bytes"],
)
def test_every_input_shape_parses_the_same(given_as: Any) -> None:
    parsed = parse_policy(given_as, "p")
    assert len(parsed.statements) == 1
    st0 = parsed.statements[0]
    assert st0.actions == ("s3:getobject",)
    assert st0.resources == ("arn:aws:s3:::b/*",)
    assert st0.sid == "One"


def test_trust_policy_principals_and_conditions() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::1:root", "*"], "Service": "lambda.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {"sts:ExternalId": ["a", "b"]},
                    "Bool": {"aws:SecureTransport": True},
                },
            }
        ],
    }
    st0 = parse_policy(trust, "trust").statements[0]
    assert st0.principal is not None and st0.principal.wildcard
    assert st0.principal.service == ("lambda.amazonaws.com",)
    assert {(c.operator, c.key, c.values) for c in st0.conditions} == {
        ("StringEquals", "sts:externalid", ("a", "b")),
        ("Bool", "aws:securetransport", ("true",)),
    }


def test_not_action_and_not_resource() -> None:
    st0 = parse_policy(
        {"Statement": [{"Effect": "Deny", "NotAction": "iam:*", "NotResource": ["a", "b"]}]}, "p"
    ).statements[0]
    assert st0.not_actions == ("iam:*",) and st0.actions == ()
    assert st0.not_resources == ("a", "b") and st0.resources == ()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid JSON"),
        ([], "must be a JSON object"),
        ({"Version": "2012-10-17"}, "no Statement"),
        ({"Version": "2019-01-01", "Statement": []}, "Version must be"),
        ({"Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}]}, "Effect must be"),
        ({"Statement": [{"Effect": "Allow", "Resource": "*"}]}, "exactly one of Action and NotAction"),
        ({"Statement": [{"Effect": "Allow", "Action": "*"}]}, "needs Resource or NotResource"),
        ({"Statement": [{"Effect": "Allow", "Action": 5, "Resource": "*"}]}, "must be a string or a list"),
        ({"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]}, "empty list"),
        ({"Statement": [{"Effect": "Allow", "Action": "getobject", "Resource": "*"}]}, "service:Action"),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Bogus": 1}]}, "unknown element"),
        (
            {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": []}]},
            "Condition must be",
        ),
        ({"Statement": [{"Effect": "Allow", "Principal": {"Robot": "x"}, "Action": "*"}]}, "unknown type"),
        (
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "*",
                        "Resource": "*",
                        "Condition": {"Bool": {"k": {"x": 1}}},
                    }
                ]
            },
            "value of type dict",
        ),
        ("[" * 5000 + "]" * 5000, "nested"),
        ("x" * 1_000_001, "larger than"),
    ],
)
def test_malformed_input_names_policy_and_problem(document: Any, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, "my-policy")
    assert "my-policy" in str(caught.value)
    assert message in str(caught.value)


def test_round_trip_keeps_meaning() -> None:
    parsed = parse_policy(GOOD, "p")
    again = parse_policy(document_to_json(parsed), "p")
    assert again.statements == parsed.statements


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_gives_policy_error_or_a_document(value: Any) -> None:
    try:
        parsed = parse_policy(value, "fuzz")
    except PolicyError as exc:
        assert exc.policy_name == "fuzz" and exc.problem
    else:
        assert all(s.effect in ("Allow", "Deny") for s in parsed.statements)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "Effect": st.sampled_from(["Allow", "Deny", "x"]),
                "Action": json_values,
                "Resource": json_values,
            }
        ),
        max_size=3,
    )
)
def test_statement_shaped_garbage_never_crashes(statements: list[dict[str, Any]]) -> None:
    try:
        parsed = parse_policy({"Version": "2012-10-17", "Statement": statements}, "fuzz")
    except PolicyError as exc:
        assert exc.policy_name == "fuzz" and exc.problem
    else:
        assert len(parsed.statements) == len(statements)


def _reference_depth(value: Any) -> int:
    """Nesting depth by its definition: a container is one level deeper than its deepest child."""
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    if children is None:
        return 1
    return 1 + max((_reference_depth(v) for v in children), default=0)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
    max_leaves=40,
)


@given(JSON_VALUES, st.integers(min_value=1, max_value=12))
@settings(max_examples=400, deadline=None)
def test_nesting_depth_matches_its_definition(value: Any, limit: int) -> None:
    from policy.model import _depth

    want = _reference_depth(value)
    got = _depth(value, limit)
    if want <= limit:
        assert got == want
    else:
        assert got > limit  # stops early, but always says "too deep"


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth - 1):
        value = [value]
    return value


STATEMENT = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        # What the parser does not read is measured: a document deeper than 20 levels is refused...
        ({"Version": "2012-10-17", "Id": _nested(20), "Statement": [STATEMENT]}, "nested deeper than 20"),
        (
            {"Version": "2012-10-17", "Statement": [{**STATEMENT, "Sid": _nested(18)}]},
            "nested deeper than 20",
        ),
        # ...and what it reads is refused for its shape, however deep, never with a RecursionError.
        ({"Version": "2012-10-17", "Statement": [{**STATEMENT, "Effect": _nested(5000)}]}, "Effect must be"),
        ({"Version": _nested(5000), "Statement": [STATEMENT]}, "nested deeper than 20"),
        ({"Version": "2012-10-17", "Statement": [{**STATEMENT, "Resource": _nested(5000)}]}, "Resource must"),
    ],
)
def test_deep_objects_are_refused_by_depth_or_shape(document: Any, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(document, "deep")


def test_depth_limit_is_exact_for_unread_elements() -> None:
    # Document (1) + Id nested 19 levels = 20: accepted; one more level is refused.
    parse_policy({"Version": "2012-10-17", "Id": _nested(19), "Statement": [STATEMENT]}, "ok")
    parse_policy({"Version": "2012-10-17", "Statement": [{**STATEMENT, "Sid": _nested(17)}]}, "ok")
