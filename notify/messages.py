"""What a notification says, and how each kind of channel wants it: Slack blocks, a Teams Adaptive Card,
or the generic webhook's JSON.

A message is a plain dict stored on the delivery: `title`, `lines`, `link`, `data` (structured, for
webhooks). Text people wrote (a change's reason, an error) is escaped for Slack and Teams, so it cannot
mention @channel or plant a link.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.urls import reverse

from findings.models import ChangeRequest, Finding
from notify.models import ChannelKind, EventKind

MAX_FINDINGS_LISTED = 20
_DONE = {"apply": "applied", "rollback": "rolled back"}


def _site(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def findings_message(findings: list[Finding]) -> dict[str, Any]:
    """One message for a minute's new critical and high findings of one channel, most severe first."""
    findings = sorted(findings, key=lambda f: (f.severity_rank, f.account.name, f.principal_arn, f.pk))
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    summary = ", ".join(f"{n} {sev}" for sev, n in counts.items())
    lines = [
        f"[{f.severity}] {f.account.name} ({f.account.account_id}): {f.title} — {f.principal_arn}"
        for f in findings[:MAX_FINDINGS_LISTED]
    ]
    if len(findings) > MAX_FINDINGS_LISTED:
        lines.append(f"… and {len(findings) - MAX_FINDINGS_LISTED} more")
    return {
        "title": f"{len(findings)} new finding{'s' if len(findings) != 1 else ''} ({summary})",
        "lines": lines,
        "link": _site(reverse("finding_list")),
        "data": {
            "findings": [
                {
                    "id": f.pk,
                    "account_id": f.account.account_id,
                    "account": f.account.name,
                    "severity": f.severity,
                    "kind": f.kind,
                    "title": f.title,
                    "principal_arn": f.principal_arn,
                    "first_seen": f.first_seen.isoformat(),
                    "url": _site(reverse("principal_detail", args=[f.principal_id]))
                    if f.principal_id
                    else "",
                }
                for f in findings[:100]
            ],
            "count": len(findings),
        },
    }


def change_message(change: ChangeRequest, event: str, detail: dict[str, Any]) -> dict[str, Any]:
    what = detail.get("what", "apply")
    target = f"{change.principal_arn} ({change.account.name})"
    if event == EventKind.CHANGE_AWAITING:
        title = f"Change #{change.pk} awaits approval: tighten {target}"
        lines = [f"Requested by {change.requested_by.get_username()}: {change.reason[:300]}"]
    elif event == EventKind.CHANGE_DONE:
        if detail.get("after_failed_apply"):
            title = f"Change #{change.pk}: every write of the failed apply was undone on {target}"
        else:
            title = f"Change #{change.pk} {_DONE.get(what, what)} on {target}"
        lines = []
    elif event == EventKind.CHANGE_FAILED:
        title = f"Change #{change.pk}: the {what} failed on {target}"
        lines = [str(detail.get("error", ""))[:500]]
    else:  # access denied
        new = detail.get("new", [])
        title = f"AccessDenied for {target} after change #{change.pk}: {len(new)} new"
        lines = [f"{e.get('time')} {e.get('action')} {e.get('error')}" for e in new[:10]]
    return {
        "title": title,
        "lines": [line for line in lines if line],
        "link": _site(reverse("change_detail", args=[change.pk])),
        "data": {
            "change": change.pk,
            "status": change.status,
            "account_id": change.account.account_id,
            "principal_arn": change.principal_arn,
            **{k: v for k, v in detail.items() if k in ("what", "error", "new", "total", "version")},
        },
    }


def test_message(channel_name: str, actor: str) -> dict[str, Any]:
    return {
        "title": f"Test message for the channel “{channel_name}”, sent by {actor}",
        "lines": ["If you can read this, iamreview can reach this channel."],
        "link": _site(reverse("channel_list")),
        "data": {},
    }


_SLACK_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def slack_text(text: str) -> str:
    """Slack's three control characters; `<!channel>` and `<https://x|y>` need `<`."""
    return "".join(_SLACK_ESCAPES.get(c, c) for c in text)


def markdown_text(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


def body(kind: str, event: str, message: dict[str, Any], *, delivery_id: int, sent_at: str) -> bytes:
    """The request body for a channel of `kind`."""
    title, lines, link = message["title"], message.get("lines", []), message.get("link", "")
    payload: dict[str, Any]
    if kind == ChannelKind.SLACK:
        text = "\n".join([f"*{slack_text(title)}*", *(slack_text(line) for line in lines)])
        payload = {
            "text": slack_text(title),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{link}|Open in iamreview>"}]},
            ],
        }
    elif kind == ChannelKind.TEAMS:
        blocks: list[dict[str, Any]] = [
            {"type": "TextBlock", "text": markdown_text(title), "weight": "Bolder", "wrap": True}
        ]
        blocks += [
            {"type": "TextBlock", "text": markdown_text(line), "wrap": True, "spacing": "Small"}
            for line in lines
        ]
        payload = {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": blocks,
                        "actions": [{"type": "Action.OpenUrl", "title": "Open in iamreview", "url": link}],
                    },
                }
            ],
        }
    else:
        payload = {
            "event": event,
            "delivery": delivery_id,
            "sent_at": sent_at,
            "title": title,
            "lines": lines,
            "link": link,
            "data": message.get("data", {}),
        }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
