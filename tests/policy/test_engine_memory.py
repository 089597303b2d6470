"""The engine keeps one catalog mask (an int of one bit per action, about 2.5 KB) per distinct permission set
rather than several per principal, and walks ranked targets without copying them per principal: what an
organisation-scale account costs in memory and time (docs/benchmarks.md, "Engine memory")."""

from __future__ import annotations

import random
import tracemalloc
from datetime import UTC, datetime

from benchmarks.gen_gaad import generate
from policy.analyze import AccountAnalysis
from policy.catalog import default_catalog
from policy.escalation import EscalationSearch
from policy.evaluate import PolicySet, PrincipalPermissions
from policy.gaad import load_gaad
from policy.grants import document_grants
from policy.model import parse_policy
from tests.policy.gaad_builder import allow, doc


def test_analysis_memory_per_principal_stays_bounded() -> None:
    """2,000 generated roles: 30 KiB a principal traced at the analysis's peak before the masks were shared,
    20 KiB after."""
    account = load_gaad(generate(2000))
    catalog = default_catalog()
    catalog.bit("s3:getobject")  # the catalog's own index is built before measuring
    analysis = AccountAnalysis(account, catalog)
    tracemalloc.start()
    try:
        analysis.run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per_principal = peak / len(account.principals)
    assert per_principal < 24 * 1024, f"{per_principal / 1024:.1f} KiB a principal"


def _identity(*documents: dict) -> PolicySet:  # type: ignore[type-arg]
    catalog = default_catalog()
    parsed = [parse_policy(d, f"d{n}") for n, d in enumerate(documents)]
    return PolicySet.of_documents(document_grants(parsed, catalog, None, datetime.now(tz=UTC)), catalog)


def test_one_documents_masks_are_its_own_and_nothing_refused_keeps_them() -> None:
    """The combined masks (their values: tests/policy/test_evaluate.py) are the part's own objects when
    there is one part, and the allowed mask is the identity's when nothing refuses."""
    catalog = default_catalog()
    identity = _identity(
        doc(allow(["s3:GetObject", "ec2:Describe*"]), allow("iam:PassRole", "arn:aws:iam::*:role/x"))
    )
    (part,) = identity.parts
    assert identity.allowed is part.allowed and identity.denied_on_all is part.denied_on_all
    perms = PrincipalPermissions(None, identity, catalog=catalog)
    assert perms.allowed_mask(catalog) is identity.allowed
    # A Deny on every resource changes the mask: then it is a new value, and right.
    refused = _identity(doc(allow("s3:*"), {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}))
    mask = PrincipalPermissions(None, refused, catalog=catalog).allowed_mask(catalog)
    assert mask is not refused.allowed
    assert "s3:getobject" in catalog.actions_of(mask) and "s3:deleteobject" not in catalog.actions_of(mask)


class _Ranks(EscalationSearch):
    def __init__(self) -> None:  # only the ranked walk is exercised
        self._places = {}


def test_ranked_walk_is_the_filtered_ranking_for_small_and_large_sets() -> None:
    rng = random.Random(5)
    ranked = [f"arn:aws:iam::111122223333:role/r{n}" for n in range(400)]
    rng.shuffle(ranked)
    search = _Ranks()
    for size in (0, 1, 5, 40, 60, 300, 400):
        for count in (1, 2, 3):
            sets = [
                set(rng.sample(ranked, size)) | {"arn:aws:iam::111122223333:user/not-ranked"}
                for _ in range(count)
            ]
            expected = [a for a in ranked if any(a in s for s in sets)]
            assert list(search._in_rank_order(ranked, sets)) == expected, (size, count)


def test_generated_accounts_never_attach_a_policy_twice() -> None:
    """The benchmark's generator gave role 22,528 the same AWS managed policy twice (a file AWS never
    writes, refused by import_gaad); large accounts are what the figures are about."""
    for role in generate(23000)["RoleDetailList"]:
        arns = [p["PolicyArn"] for p in role["AttachedManagedPolicies"]]
        assert len(arns) == len(set(arns)), role["RoleName"]
