"""Template filters for the review pages."""

from __future__ import annotations

import json
import re
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from findings.selectors import risk_band
from policy.catalog import default_catalog
from policy.kinds import KINDS, SEVERITIES

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


@register.filter
def kind_title(kind_id: str) -> str:
    """A finding kind's title from the registry (the id itself for a kind no longer registered)."""
    registered = KINDS.get(kind_id)
    return registered.title if registered is not None else kind_id


@register.simple_tag
def severity_styles() -> SafeString:
    """The badge and risk-band colours, written from the registry so every page, chart and badge agrees."""
    rules = []
    for s in SEVERITIES:
        style = f"color: {s.text_colour}; background: {s.colour};"
        rules.append(f".sev-{s.id}, .band-{s.id} {{ {style} }}")
    return format_html("<style>{}</style>", " ".join(rules))


def _action_name(text: str) -> str:
    """AWS's own spelling of an action (`iam:PassRole` for `iam:passrole`); a pattern keeps its wildcard."""
    catalog = default_catalog()
    if "*" not in text and "?" not in text:
        return catalog.name(text)
    service, _, rest = text.partition(":")
    stem = rest[:-1] if rest.endswith("*") else ""
    if stem and "*" not in stem and "?" not in stem:
        members = sorted(a for a in catalog.expand(text))
        if members:
            name = catalog.name(members[0])
            if name.lower().startswith(text[:-1].lower()):
                return name[: len(text) - 1] + "*"
    return f"{service.lower()}:{rest}" if rest else text


@register.filter
def aws_action(value: Any) -> str:
    return _action_name(str(value))


_ACTION_IN_TEXT = re.compile(r"\b([a-z0-9-]+:[A-Za-z0-9*?]+)\b")


@register.filter
def aws_actions_in(value: Any) -> str:
    """Free text (a score reason, a finding's detail) with every action it names in AWS's spelling."""
    catalog = default_catalog()

    def spell(match: re.Match[str]) -> str:
        found = match.group(1)
        return catalog.name(found) if "*" not in found and "?" not in found else found

    return _ACTION_IN_TEXT.sub(spell, str(value))


@register.filter
def top_reasons(explanation: list[dict[str, Any]], count: int = 3) -> list[str]:
    """The kinds that raised a score, each once, heaviest first ("service-admin", not twice)."""
    seen: list[str] = []
    for entry in explanation or []:
        kind = str(entry.get("kind", ""))
        if kind and kind not in seen:
            seen.append(kind)
    return seen[: int(count)]
