"""Injected faults: throttling and 5xx on any operation, AccessDenied on AssumeRole for chosen roles, and
random faults (throttling, 5xx, AccessDenied, timeouts) at a chosen rate."""

from __future__ import annotations

import os
import time
from typing import Any

from botocore.exceptions import ReadTimeoutError
from moto.core.responses import BaseResponse
from moto.sts.responses import TokenResponse

from fakeaws.errors import FakeAwsError
from fakeaws.state import faults, take_fault

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    original_call = BaseResponse.call_action

    def call_action(self: BaseResponse) -> Any:
        try:
            operation = self._get_action()
        except Exception:
            return original_call(self)
        if take_fault(faults().throttle_next, operation):
            error = FakeAwsError("Throttling", "Rate exceeded")
            return _error(self, 400, "Throttling", str(error.message))
        if take_fault(faults().server_error_next, operation):
            return _error(self, 500, "InternalFailure", "We encountered an internal error. Please try again.")
        kind = faults().chaos()
        if kind == "throttle":
            return _error(self, 400, "Throttling", "Rate exceeded")
        if kind == "server_error":
            return _error(self, 503, "ServiceUnavailable", "Service is unable to handle request.")
        if kind == "access_denied":
            service = getattr(getattr(self, "service_model", None), "endpoint_prefix", None) or "iam"
            return _error(
                self,
                403,
                "AccessDenied",
                f"User: arn:aws:sts::{self.current_account}:assumed-role/iamreview-read/iamreview is not "
                f"authorized to perform: {service}:{operation}",
            )
        if kind == "timeout":
            if os.environ.get("FAKEAWS_SERVER") == "1":
                time.sleep(faults().chaos_timeout_seconds)  # longer than the client's read timeout
            else:
                raise ReadTimeoutError(endpoint_url=f"fakeaws {operation}")
        return original_call(self)

    BaseResponse.call_action = call_action  # type: ignore[method-assign]

    original_assume = TokenResponse.assume_role

    def assume_role(self: TokenResponse) -> Any:
        role_arn = self._get_param("RoleArn")
        if role_arn in faults().deny_assume:
            raise FakeAwsError(
                "AccessDenied",
                f"User: arn:aws:iam::{self.current_account}:user/iamreview is not authorized to perform: "
                f"sts:AssumeRole on resource: {role_arn}",
            )
        return original_assume(self)

    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]


def _error(response: BaseResponse, status: int, code: str, message: str) -> tuple[int, dict[str, str], str]:
    protocol = getattr(getattr(response, "service_model", None), "protocol", "query")
    if protocol in ("json", "rest-json"):
        import json

        return (
            status,
            {"x-amzn-ErrorType": code, "Content-Type": "application/json"},
            json.dumps({"__type": code, "message": message}),
        )
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>fakeaws</RequestId></ErrorResponse>"
    )
    return status, {"Content-Type": "text/xml"}, body
