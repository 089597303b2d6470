"""On the demo organisation's production account, with CloudTrail evidence for its workloads, every
suggestion (tightened, resource-scoped, hardened) is checked by the independent z3 evaluator: nothing the
original refused is allowed, and no used request the original allowed is refused."""

from __future__ import annotations

import pytest

from benchmarks.tighten_demo import run

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_suggestions_pass_the_independent_check() -> None:
    figures = run(["prod"])
    assert figures["z3_problems"] == []
    assert figures["actions_narrowed"] > 0 and figures["scoped_principals"] > 0
    assert figures["z3_items"] > 10 and figures["z3_requests"] > 20
