"""Effective permissions: resource matching and the per-document index agree with their definitions."""

from __future__ import annotations

import gc
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.catalog import Catalog, default_catalog
from policy.evaluate import Grant, PolicySet, _matcher, document_grants, grants_from
from policy.model import gc_paused, parse_policy

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _reference_match(pattern: str, arn: str) -> bool:
    """IAM's definition: `*` any run of characters, `?` one character, `\\x` a literal x (a lone
    trailing backslash is itself)."""
    pieces = []
    for part in re.findall(r"\\.|.", pattern, re.DOTALL):
        if len(part) == 2:
            pieces.append(re.escape(part[1]))
        else:
            pieces.append(".*" if part == "*" else "." if part == "?" else re.escape(part))
    return re.fullmatch("".join(pieces), arn, re.DOTALL) is not None


ALPHABET = "ab:/*?\\-"
arns = st.text(alphabet="ab:/-", max_size=12)
resource_patterns = st.text(alphabet=ALPHABET, max_size=10)


@settings(max_examples=500, deadline=None)
@given(st.lists(resource_patterns, min_size=1, max_size=4), st.lists(arns, max_size=6))
def test_resource_lists_match_as_defined(patterns: list[str], names: list[str]) -> None:
    key = tuple(patterns)
    want = [a for a in names if any(_reference_match(p, a) for p in patterns)]
    matcher = _matcher(key)
    assert [a for a in names if matcher.matches(a)] == want
    assert matcher.matching(names) == want
    grant = Grant.of(
        parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}).statements[0],
        "p",
        1,
        key,
        None,
    )
    assert grant.covering(names) == want
    not_grant = Grant.of(grant.statement, "p", 1, (), key)
    assert not_grant.covering(names) == [a for a in names if a not in want]


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        ("arn:aws:iam::*:role/app-*", "arn:aws:iam::111122223333:role/app-web", True),
        ("arn:aws:iam::*:role/app-*", "arn:aws:iam::111122223333:role/other", False),
        ("arn:aws:iam::*:role/*-admin", "arn:aws:iam::111122223333:role/x-admin", True),
        ("arn:aws:iam::*:role/*-admin", "arn:aws:iam::111122223333:role/x-admin-not", False),
        ("arn:aws:s3:::bucket/*", "arn:aws:iam::111122223333:role/bucket", False),
        ("arn:aws:iam::111122223333:user/\\*", "arn:aws:iam::111122223333:user/*", True),
        ("arn:aws:iam::111122223333:user/\\*", "arn:aws:iam::111122223333:user/alice", False),
        ("arn:aws:iam::*:role/a*a*a", "arn:aws:iam::1:role/aa", False),
        ("arn:aws:iam::*:role/a*a*a", "arn:aws:iam::1:role/aaa", True),
    ],
)
def test_resource_matching_cases(pattern: str, arn: str, expected: bool) -> None:
    assert _matcher((pattern,)).matches(arn) is expected
    assert _matcher((pattern,)).matching([arn]) == ([arn] if expected else [])


SMALL = Catalog.from_actions(
    {
        "s3:GetObject": "Read",
        "s3:PutObject": "Write",
        "s3:PutBucketPolicy": "Permissions management",
        "iam:PassRole": "Write",
        "iam:CreateUser": "Write",
        "ec2:RunInstances": "Write",
    }
)
ACTION_PATTERNS = ["*", "s3:*", "s3:Get*", "s3:PutObject", "iam:*", "iam:PassRole", "ec2:Run*", "nosuch:x"]
RESOURCES = ["*", "arn:aws:s3:::b/*", "arn:aws:iam::1:role/r-*", "arn:aws:iam::1:role/r-1"]
PROBES = ["*", "arn:aws:s3:::b/k", "arn:aws:iam::1:role/r-1", "arn:aws:iam::1:role/x"]

statement_st = st.builds(
    lambda effect, negate, actions, resources, conditional: {
        "Effect": effect,
        ("NotAction" if negate else "Action"): actions,
        ("NotResource" if negate and effect == "Deny" else "Resource"): resources,
        **({"Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}} if conditional else {}),
    },
    st.sampled_from(["Allow", "Allow", "Deny"]),
    st.booleans(),
    st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3, unique=True),
    st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2, unique=True),
    st.booleans(),
)


def _answers(layer: PolicySet) -> list[Any]:
    return [
        (action, probe, layer.decide(action, probe)) for action in sorted(SMALL.canonical) for probe in PROBES
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(statement_st, min_size=1, max_size=3), min_size=1, max_size=3))
def test_per_document_index_answers_as_the_flat_grant_list(documents: list[list[dict[str, Any]]]) -> None:
    """The index kept per document (shared between principals) gives the same decisions as one part
    holding every grant; and the masks combined per document equal their definition grant by grant."""
    parsed = [
        parse_policy({"Version": "2012-10-17", "Statement": d}, f"d{i}") for i, d in enumerate(documents)
    ]
    allows, denies, _ = grants_from(parsed, SMALL, None, NOW)
    flat = PolicySet(allows, denies, SMALL)
    parts = PolicySet.of_documents(document_grants(parsed, SMALL, None, NOW), SMALL)
    assert _answers(parts) == _answers(flat)
    for action in SMALL.canonical:
        assert parts.grants_on_action(action) == flat.grants_on_action(action)
        assert parts.denies_on_action(action) == flat.denies_on_action(action)
    # The combined masks, against their definition grant by grant.
    allowed = on_all = unconditional = denied_on_all = 0
    for g in allows:
        allowed |= g.mask
        on_all |= g.mask if g.all_resources else 0
        unconditional |= g.mask if g.all_resources and not g.conditional else 0
    for d in denies:
        denied_on_all |= d.mask if d.all_resources and not d.conditional else 0
    for layer in (parts, flat):
        assert (layer.allowed, layer.allowed_on_all) == (allowed, on_all)
        assert (layer.unconditional_on_all, layer.denied_on_all) == (unconditional, denied_on_all)


def test_garbage_collector_is_paused_and_restored() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("the analysis failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a caller that had paused it keeps it paused
    finally:
        gc.enable()


def test_full_catalog_decisions_on_a_real_policy() -> None:
    cat = default_catalog()
    doc = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:Get*", "iam:PassRole"], "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::secret/*"},
            ],
        },
        "p",
    )
    layer = PolicySet.of_documents(document_grants([doc], cat, None, NOW), cat)
    assert layer.decide("s3:GetObject", "arn:aws:s3:::public/k").allowed
    assert not layer.decide("s3:GetObject", "arn:aws:s3:::secret/k").allowed
    assert layer.decide("S3:GETOBJECTACL", "arn:aws:s3:::secret/k").allowed
    assert not layer.decide("s3:PutObject", "*").allowed
    assert not layer.decide("nosuch:Thing", "*").allowed
