"""CloudTrail LookupEvents answering with the AccessDenied events recorded by `record_access_denied`."""

from __future__ import annotations

import json
import uuid
from typing import Any

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from moto.cloudtrail.responses import CloudTrailResponse

    from fakeaws.state import STATE

    def lookup_events(self: Any) -> str:
        params = json.loads(self.body or "{}")
        start = params.get("StartTime")
        events = []
        for event in STATE.access_denied.get(self.current_account, []):
            if start is not None and event["time"].timestamp() < float(start):
                continue
            events.append(
                {
                    "EventId": str(uuid.uuid4()),
                    "EventName": event["action"].split(":", 1)[-1],
                    "EventTime": event["time"].timestamp(),
                    "EventSource": event["action"].split(":", 1)[0] + ".amazonaws.com",
                    "Username": event["principal"].rsplit("/", 1)[-1],
                    "Resources": [{"ResourceType": "AWS::IAM::Role", "ResourceName": event["principal"]}],
                    "CloudTrailEvent": json.dumps(
                        {
                            "errorCode": "AccessDenied",
                            "eventName": event["action"].split(":", 1)[-1],
                            "userIdentity": {"arn": event["principal"]},
                        }
                    ),
                }
            )
        return json.dumps({"Events": events})

    CloudTrailResponse.lookup_events = lookup_events  # type: ignore[attr-defined]
