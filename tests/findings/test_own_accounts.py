"""Whose trust needs no ExternalId: the organisation's accounts when a stored organisation holds the
account, else every linked account (no third party can be the confused deputy among them)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import LinkedAccount
from findings.analysis import engine_inputs
from findings.models import OrganizationSnapshot
from policy.analyze import analyze_account
from policy.catalog import default_catalog
from policy.gaad import load_gaad
from tests.policy.gaad_builder import ACCOUNT, Gaad, trust_account

pytestmark = pytest.mark.django_db

LINKED_OUTSIDE_ORG = "222222222222"  # linked here, not in the organisation
ORG_MEMBER = "333333333333"  # in the organisation, not linked
VENDOR = "444444444444"  # neither


def _link(account_id: str) -> LinkedAccount:
    return LinkedAccount.objects.create(
        account_id=account_id, name=account_id, role_arn=f"arn:aws:iam::{account_id}:role/iamreview-read"
    )


def _no_external_id(org_accounts: frozenset[str]) -> set[str]:
    """The roles (named after the account they trust) that get the no-ExternalId finding."""
    g = Gaad()
    for trusted in (LINKED_OUTSIDE_ORG, ORG_MEMBER, VENDOR):
        g.role(f"from-{trusted}", trust=trust_account(trusted))
    report = analyze_account(load_gaad(g.data), default_catalog(), org_accounts=org_accounts)
    return {
        p.name.removeprefix("from-")
        for p in report.principals
        if any(f.kind == "trust-cross-account-no-external-id" for f in p.findings)
    }


def test_without_an_organisation_the_linked_accounts_are_own() -> None:
    account = _link(ACCOUNT)
    _link(LINKED_OUTSIDE_ORG)
    own = engine_inputs(account)["org_accounts"]
    assert own == {ACCOUNT, LINKED_OUTSIDE_ORG}
    assert _no_external_id(own) == {ORG_MEMBER, VENDOR}


def test_with_an_organisation_its_accounts_are_own_and_other_linked_accounts_are_not() -> None:
    account = _link(ACCOUNT)
    _link(LINKED_OUTSIDE_ORG)
    management = _link("999999999999")
    OrganizationSnapshot.objects.create(
        account=management,
        organization_id="o-example",
        management_account_id="999999999999",
        nodes={
            "r-root": {"name": "Root", "kind": "root", "parent": ""},
            ACCOUNT: {"name": "prod", "kind": "account", "parent": "r-root"},
            ORG_MEMBER: {"name": "sandbox", "kind": "account", "parent": "r-root"},
        },
        digest="x",
        collected_at=timezone.now(),
    )
    own = engine_inputs(account)["org_accounts"]
    assert own == {ACCOUNT, ORG_MEMBER, "999999999999"}
    assert _no_external_id(own) == {LINKED_OUTSIDE_ORG, VENDOR}
    # The management account's own analysis reads the same organisation.
    assert engine_inputs(management)["org_accounts"] == own
