"""The error type fakeaws raises inside moto; moto serialises it with the calling service's error shapes."""

from moto.core.exceptions import ServiceException


class FakeAwsError(ServiceException):
    """`FakeAwsError("Code", "message")`. Defined outside `moto.*` so that moto looks the code up in the
    service being called (IAM, STS, Access Analyzer), not in a package of its own."""
