"""Template filters for the review pages."""

from __future__ import annotations

import json
from typing import Any

from django import template

from findings.selectors import risk_band

register = template.Library()


@register.filter
def band(score: int) -> str:
    return risk_band(int(score or 0))


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False)


@register.filter
def short_arn(arn: str) -> str:
    """The last part of an ARN (role/name, user/name), for chains drawn step by step."""
    return arn.split(":", 5)[-1] if arn.count(":") >= 5 else arn
