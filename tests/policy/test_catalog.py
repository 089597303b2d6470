"""The action catalog: wildcard expansion, case, access levels, and unknown names reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.catalog import _set_bits, default_catalog, pattern_regex


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


# -- bitmasks ------------------------------------------------------------------------------------------
# Expansion works on bit ranges found by binary search; these tests hold it to the plain definition: a
# case-insensitive full match of the IAM wildcard against every action name of the catalog.


def _reference(pattern: str) -> frozenset[str]:
    rx = pattern_regex(pattern)
    return frozenset(a for a in default_catalog().canonical if rx.fullmatch(a))


@pytest.mark.parametrize(
    "pattern",
    [
        "*",
        "s3:*",
        "S3:Get*",
        "s3:get*acl",
        "s3:?etObject",
        "ec2:Describe*",
        "ec2:*Instances",
        "iam:*policy*",
        "*:GetObject",
        "s3*:get*",
        "ec2-instance-connect:*",
        "ec2:",
        "ec2:*",
        "lambda:CreateFunction",
        "nosuch:*",
        "s3:NoSuchAction*",
        "sts:AssumeRole*",
    ],
)
def test_expand_equals_the_wildcard_definition(pattern: str) -> None:
    assert default_catalog().expand(pattern) == _reference(pattern)


@st.composite
def _patterns(draw: st.DrawFn) -> str:
    """A real action name, cut short and given wildcards, in random case."""
    names = sorted(default_catalog().canonical.values())
    name = draw(st.sampled_from(names))
    cut = draw(st.integers(min_value=0, max_value=len(name)))
    head = name[:cut]
    if draw(st.booleans()) and head:
        i = draw(st.integers(min_value=0, max_value=len(head) - 1))
        head = head[:i] + "?" + head[i + 1 :]
    pattern = head + draw(st.sampled_from(["*", "", "?*", "*a*"]))
    return "".join(c.upper() if draw(st.booleans()) else c.lower() for c in pattern)


@settings(max_examples=150, deadline=None)
@given(_patterns())
def test_generated_patterns_expand_as_defined(pattern: str) -> None:
    assert default_catalog().expand(pattern) == _reference(pattern)


@settings(max_examples=100, deadline=None)
@given(st.lists(_patterns(), min_size=1, max_size=6), st.booleans())
def test_statement_mask_is_the_union_of_its_patterns(patterns: list[str], negated: bool) -> None:
    cat = default_catalog()
    lowered = tuple(p.lower() for p in patterns)
    mask, problems = cat.statement_info(lowered, negated)
    union = frozenset().union(*(_reference(p) for p in lowered))
    want = cat.all_actions - union if negated else union
    assert cat.actions_of(mask) == want
    assert list(problems) == cat.unknown_patterns(lowered)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**3000))
def test_set_bits_lists_every_set_bit_lowest_first(mask: int) -> None:
    assert list(_set_bits(mask)) == [i for i in range(mask.bit_length()) if mask >> i & 1]


def test_first_names_are_the_lowest_bits_canonically_spelled() -> None:
    cat = default_catalog()
    mask = cat.expand_mask("s3:Get*")
    names = cat.first_names(mask, 5)
    assert names == [cat.name(a) for a in sorted(cat.expand("s3:Get*"))[:5]]
    names.append("changed")  # the caller's own list: the cache is not touched
    assert cat.first_names(mask, 5) == names[:5]


def test_level_and_service_masks_match_the_definition() -> None:
    cat = default_catalog()
    writes = cat.actions_of(cat.level_mask("Write", "Tagging"))
    assert writes == {a for a, level in cat.access_level.items() if level in ("Write", "Tagging")}
    assert cat.actions_of(cat.services_mask(["iam", "STS"])) == cat.expand("iam:*") | cat.expand("sts:*")
    scoped = cat.actions_of(cat.resource_scoped_mask())
    assert scoped == {a for a, types in cat.resource_types.items() if types}


def test_cached_catalog_keeps_the_derived_bit_order(tmp_path: Path) -> None:
    from policy.catalog import Catalog, _definition_path

    stat = _definition_path().stat()
    stale = tmp_path / f"catalog-{stat.st_size}-{int(stat.st_mtime)}.marshal"  # an earlier format
    stale.write_bytes(b"an earlier format")
    other = tmp_path / "catalog-v3-1-1.marshal"  # another definition, perhaps another install's
    other.write_bytes(b"kept")
    fresh = Catalog.from_definition(cache_dir=tmp_path)  # parses the definition, writes the cache
    cached = Catalog.from_definition(cache_dir=tmp_path)  # reads it back
    assert len(list(tmp_path.iterdir())) == 2 and not stale.exists() and other.exists()
    assert cached.canonical == fresh.canonical
    assert cached.access_level == fresh.access_level  # decoded on first use
    assert cached.resource_types == fresh.resource_types
    assert cached.arn_services == fresh.arn_services
    assert cached.by_service == fresh.by_service
    assert cached.resource_could_apply("lambda:createfunction", "arn:aws:iam::1:role/r") is False
    assert cached.resource_could_apply("iam:passrole", "arn:aws:iam::1:role/r") is True
    for pattern in ("s3:Get*", "iam:*", "*", "ec2:?escribe*"):
        assert cached.expand_mask(pattern) == fresh.expand_mask(pattern)
    assert cached.level_mask("Permissions management") == fresh.level_mask("Permissions management")
