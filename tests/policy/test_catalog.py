"""The action catalog: wildcard expansion, case, access levels, and unknown names reported."""

from __future__ import annotations

import pytest

from policy.catalog import default_catalog


@pytest.mark.parametrize(
    ("pattern", "must_include", "must_exclude"),
    [
        ("s3:GetObject", {"s3:getobject"}, {"s3:getobjectacl"}),
        ("S3:GETOBJECT", {"s3:getobject"}, set()),
        ("s3:Get*", {"s3:getobject", "s3:getbucketpolicy"}, {"s3:putobject"}),
        ("s3:?etObject", {"s3:getobject"}, {"s3:getobjectacl"}),
        ("iam:*", {"iam:passrole", "iam:createuser"}, {"s3:getobject"}),
        ("*:GetObject", {"s3:getobject"}, {"s3:putobject"}),
    ],
)
def test_expand(pattern: str, must_include: set[str], must_exclude: set[str]) -> None:
    actions = default_catalog().expand(pattern)
    assert must_include <= actions
    assert not (must_exclude & actions)


def test_star_is_everything_and_not_action_is_the_rest() -> None:
    cat = default_catalog()
    everything = cat.expand("*")
    assert len(everything) > 15000
    rest = cat.expand_statement(("iam:*",), negated=True)
    assert "iam:passrole" not in rest and "s3:getobject" in rest
    assert len(rest) == len(everything) - len(cat.expand("iam:*"))


def test_access_levels() -> None:
    cat = default_catalog()
    assert cat.level_of("s3:GetObject") == "Read"
    assert cat.level_of("s3:ListBucket") == "List"
    assert cat.level_of("s3:PutObject") == "Write"
    assert cat.level_of("s3:PutBucketPolicy") == "Permissions management"
    assert cat.level_of("s3:PutBucketTagging") == "Tagging"
    assert "object" in cat.resource_types["s3:getobject"]


def test_unknown_names_are_reported_not_matched() -> None:
    cat = default_catalog()
    assert cat.expand("nosuch:GetThing") == frozenset()
    problems = cat.unknown_patterns(("nosuch:GetThing", "s3:GetObjekt", "s3:Get*", "*"))
    assert problems == [
        "nosuch:GetThing: unknown service prefix 'nosuch'",
        "s3:GetObjekt: matches no known action",
    ]


def test_loaded_once_and_lazily() -> None:
    import importlib
    import sys

    sys.modules.pop("policy.catalog", None)
    module = importlib.import_module("policy.catalog")
    assert module.default_catalog.cache_info().currsize == 0  # importing loads nothing
    assert module.default_catalog() is module.default_catalog()
