"""Injected faults: throttling and 5xx on any operation, AccessDenied on AssumeRole for chosen roles."""

from __future__ import annotations

from typing import Any

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
