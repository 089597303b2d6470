"""Hostile account files: `import_gaad` (and the snapshot a sync stores) refuse them with one error naming
the place, store nothing, and leave the account free to import or sync again."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import LinkedAccount, SyncRun, SyncStatus
from accounts.sync import sync_runs_reap_stale
from core.models import AuditEvent
from findings.management.commands.import_gaad import Command as ImportCommand
from findings.models import (
    Finding,
    InlinePolicy,
    ManagedPolicy,
    PolicyDocument,
    Principal,
    SnapshotChange,
)
from findings.snapshot import Collected, snapshot_store
from policy.gaad import GaadError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gaad"
SMALL = json.loads((FIXTURES / "small-account.json").read_text())
FULL = json.loads((FIXTURES / "all-fields.json").read_text())
ACCOUNT = "111122223333"
# Where an error can say it is: a place in the file, a line of it, or the file as a whole.
LOCATION = re.compile(
    r"(UserDetailList|GroupDetailList|RoleDetailList|Policies)\b|at line \d+|at the top level|UTF-16"
)
DEEP = 100_000
pytestmark = pytest.mark.django_db


def stored() -> dict[str, int]:
    models = (
        LinkedAccount,
        SyncRun,
        Principal,
        ManagedPolicy,
        PolicyDocument,
        InlinePolicy,
        Finding,
        SnapshotChange,
        AuditEvent,
    )
    return {m.__name__: m.objects.count() for m in models}


def encode(data: Any, raw: dict[str, str] | None = None) -> bytes:
    """JSON text of `data` (NaN and lone surrogates written as JSON writes them); each `raw` marker string
    is replaced by its text as is (deep nesting, duplicate keys)."""
    text = json.dumps(data, allow_nan=True)
    for marker, replacement in (raw or {}).items():
        text = text.replace(json.dumps(marker), replacement)
    return text.encode("utf-8", "surrogatepass")


def import_file(tmp: Path, raw: bytes) -> None:
    path = tmp / "gaad.json"
    path.write_bytes(raw)
    call_command("import_gaad", str(path), "--account", ACCOUNT, stdout=io.StringIO())


def at(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def mutated(path: tuple[Any, ...], value: Any, base: Any = SMALL) -> Any:
    data = copy.deepcopy(base)
    at(data, path[:-1])[path[-1]] = value
    return data


def without(path: tuple[Any, ...], base: Any = SMALL) -> Any:
    data = copy.deepcopy(base)
    del at(data, path[:-1])[path[-1]]
    return data


def doubled(path: tuple[Any, ...], base: Any = SMALL) -> Any:
    """The list element at `path` twice."""
    data = copy.deepcopy(base)
    at(data, path[:-1]).append(copy.deepcopy(at(data, path)))
    return data


def duplicate_key(path: tuple[Any, ...], base: Any = SMALL) -> bytes:
    """The object at `path` written with its first key twice (JSON allows it; the last one would win)."""
    obj = at(base, path)
    first = next(iter(obj))
    text = "{" + json.dumps(first) + ':"shadowed",' + json.dumps(obj)[1:]
    return encode(mutated(path, "@@dup@@", base), {"@@dup@@": text})


def nested(path: tuple[Any, ...], depth: int = DEEP, base: Any = SMALL) -> bytes:
    return encode(mutated(path, "@@deep@@", base), {"@@deep@@": "[" * depth + "]" * depth})


ROLE_DOC = ("RoleDetailList", 2, "RolePolicyList", 0, "PolicyDocument")
STATEMENT = (*ROLE_DOC, "Statement", 0)

HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "policy document of the wrong type": (
        lambda: encode(mutated(ROLE_DOC, 5)),
        "RoleDetailList[2].RolePolicyList[0].PolicyDocument: must be a policy document",
    ),
    "principal list of the wrong type": (
        lambda: encode(mutated(("UserDetailList",), {"a": 1})),
        "UserDetailList: must be a list",
    ),
    "group name of the wrong type": (
        lambda: encode(mutated(("UserDetailList", 0, "GroupList", 0), 7)),
        "UserDetailList[0].GroupList[0]: must be an IAM group name",
    ),
    "path null": (lambda: encode(mutated(("RoleDetailList", 0, "Path"), None)), "RoleDetailList[0].Path"),
    "tag value true": (
        lambda: encode(mutated(("UserDetailList", 0, "Tags"), [{"Key": "k", "Value": True}])),
        "UserDetailList[0].Tags[0].Value: must be a string",
    ),
    "impossible date": (
        lambda: encode(mutated(("UserDetailList", 0, "CreateDate"), "2023-02-30T10:00:00Z")),
        "UserDetailList[0].CreateDate: '2023-02-30T10:00:00Z' is not a date that exists",
    ),
    "date at the end of time": (
        lambda: encode(
            mutated(("RoleDetailList", 0, "RoleLastUsed"), {"LastUsedDate": "9999-12-31T23:59:59-23:59"})
        ),
        "RoleDetailList[0].RoleLastUsed.LastUsedDate",
    ),
    "date that is a number": (
        lambda: encode(mutated(("Policies", 0, "CreateDate"), 1700000000)),
        "Policies[0].CreateDate: must be a date and time",
    ),
    "NaN in a condition": (
        lambda: encode(
            mutated((*STATEMENT, "Condition"), {"NumericLessThan": {"s3:max-keys": float("nan")}})
        ),
        "RoleDetailList[2].RolePolicyList[0].PolicyDocument.Statement[0].Condition.NumericLessThan[",
    ),
    "Infinity written as 1e400": (
        lambda: encode(
            mutated((*STATEMENT, "Condition"), {"NumericLessThan": {"s3:max-keys": "@@inf@@"}}),
            {"@@inf@@": "1e400"},
        ),
        "Infinity is not a JSON number",
    ),
    "integer of 5,000 digits": (
        lambda: encode(mutated((*STATEMENT, "Sid"), "@@big@@"), {"@@big@@": "9" * 5000}),
        "a number too large to read (number is infinity when parsed as double) at line 1",
    ),
    "NUL in a role name": (
        lambda: encode(mutated(("RoleDetailList", 1, "RoleName"), "lambda\x00admin")),
        "RoleDetailList[1].RoleName: contains a NUL character",
    ),
    "NUL inside a policy": (
        lambda: encode(mutated((*STATEMENT, "Resource"), "arn:aws:s3:::b/\x00")),
        "RoleDetailList[2].RolePolicyList[0].PolicyDocument.Statement[0].Resource: contains a NUL",
    ),
    "lone surrogate in a policy": (
        lambda: encode(mutated((*STATEMENT, "Resource"), "arn:aws:s3:::b/\ud800")),
        "PolicyDocument.Statement[0].Resource: contains a lone surrogate",
    ),
    "lone surrogate in a key": (
        lambda: encode(mutated((*STATEMENT, "Condition"), {"StringEquals": {"k\udfff": "v"}})),
        "a key contains a lone surrogate",
    ),
    "NaN inside URL-encoded policy text": (
        lambda: encode(mutated(ROLE_DOC, "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3ANaN%7D")),
        "RoleDetailList[2].RolePolicyList[0].PolicyDocument.Statement: NaN is not a JSON number",
    ),
    "NUL escaped inside policy text": (
        lambda: encode(mutated(ROLE_DOC, '{"Version": "2012-10-17", "Statement": [], "Id": "a\\u0000"}')),
        "PolicyDocument.Id: contains a NUL",
    ),
    "duplicate role ARN": (
        lambda: encode(doubled(("RoleDetailList", 1))),
        "RoleDetailList[3].Arn: ARN 'arn:aws:iam::111122223333:role/lambda-admin' appears twice "
        "(also at RoleDetailList[1].Arn)",
    ),
    "duplicate role name in another case and path": (
        lambda: encode(
            mutated(
                ("RoleDetailList", 2),
                {
                    **SMALL["RoleDetailList"][2],
                    "RoleName": "ADMIN",
                    "Arn": f"arn:aws:iam::{ACCOUNT}:role/x/ADMIN",
                },
            )
        ),
        "RoleDetailList[2].RoleName: role name 'ADMIN' appears twice",
    ),
    "duplicate inline policy name": (
        lambda: encode(doubled((*ROLE_DOC[:-1],))),
        "RoleDetailList[2].RolePolicyList[1]: policy name",
    ),
    "duplicate managed policy": (lambda: encode(doubled(("Policies", 0))), "Policies[2].Arn: ARN"),
    "duplicate tag key": (
        lambda: encode(mutated(("UserDetailList", 0, "Tags"), [{"Key": "a", "Value": "1"}, {"Key": "a"}])),
        "UserDetailList[0].Tags[1]: tag 'a' appears twice",
    ),
    "duplicate JSON key in a statement": (
        lambda: duplicate_key(STATEMENT),
        "RoleDetailList[2].RolePolicyList[0].PolicyDocument.Statement[0]: key 'Effect' appears more than once",
    ),
    "two default versions": (
        lambda: encode(
            mutated(
                ("Policies", 0, "PolicyVersionList"),
                [
                    {"VersionId": "v1", "IsDefaultVersion": True, "Document": {"Statement": []}},
                    {"VersionId": "v2", "IsDefaultVersion": True, "Document": {"Statement": []}},
                ],
            )
        ),
        "Policies[0].PolicyVersionList[1]: ",
    ),
    "no default version": (
        lambda: encode(mutated(("Policies", 0, "PolicyVersionList", 0, "IsDefaultVersion"), False)),
        "Policies[0].PolicyVersionList: has no version marked IsDefaultVersion",
    ),
    "missing role ARN": (
        lambda: encode(without(("RoleDetailList", 0, "Arn"))),
        "RoleDetailList[0]: has no Arn",
    ),
    "empty role ARN": (
        lambda: encode(
            mutated(("RoleDetailList", 0, "Arn"), ""),
        ),
        "RoleDetailList[0].Arn: is empty",
    ),
    "missing attached policy ARN": (
        lambda: encode(without(("GroupDetailList", 0, "AttachedManagedPolicies", 0, "PolicyArn"))),
        "GroupDetailList[0].AttachedManagedPolicies[0]: has no PolicyArn",
    ),
    "role ARN that names a user": (
        lambda: encode(mutated(("RoleDetailList", 0, "Arn"), f"arn:aws:iam::{ACCOUNT}:user/admin")),
        "is not an IAM role ARN",
    ),
    "over-long role name": (
        lambda: encode(mutated(("RoleDetailList", 0, "RoleName"), "a" * 129)),
        "RoleDetailList[0].RoleName: is 129 characters long (at most 128)",
    ),
    "over-long region": (
        lambda: encode(mutated(("RoleDetailList", 0, "RoleLastUsed"), {"Region": "r" * 40})),
        "RoleDetailList[0].RoleLastUsed.Region: is 40 characters long",
    ),
    "over-long string in a policy": (
        lambda: encode(mutated((*STATEMENT, "Resource"), "a" * 1_000_001)),
        "Statement[0].Resource: is 1,000,001 characters long",
    ),
    "100,000-deep nesting in a policy": (lambda: nested((*STATEMENT, "Condition")), "nested too deeply"),
    "300-deep nesting in a field nobody reads": (
        lambda: nested(("RoleDetailList", 0, "InstanceProfileList"), depth=300),
        "RoleDetailList[0].InstanceProfileList[0][0][0][0][0][0][0]… (254 levels): nested deeper than 253",
    ),
    "byte that is not UTF-8": (
        lambda: encode(SMALL).replace(b'"alice"', b'"al\xffce"'),
        "not UTF-8 text: byte 0xff at line 1",
    ),
    "UTF-16 file": (lambda: json.dumps(SMALL).encode("utf-16"), "UTF-16"),
    "truncated file": (lambda: encode(SMALL)[:-40], "not JSON: "),
    "a list at the top": (lambda: b"[]", "at the top level"),
    "empty file": (lambda: b"", "not JSON: Expecting value at line 1"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_file_is_refused_naming_the_place_and_nothing_is_stored(tmp_path: Path, name: str) -> None:
    make, expected = HOSTILE[name]
    before = stored()
    with pytest.raises(CommandError) as refused:
        import_file(tmp_path, make())
    assert expected in str(refused.value)
    assert LOCATION.search(str(refused.value))
    assert stored() == before == {k: 0 for k in before}


def test_the_account_imports_normally_after_a_refused_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        import_file(tmp_path, encode(mutated(ROLE_DOC, 5)))
    import_file(tmp_path, encode(SMALL))
    run = SyncRun.objects.get()
    assert (run.status, run.trigger) == (SyncStatus.SUCCEEDED, "import")
    assert Principal.objects.count() == 6


def test_every_field_aws_writes_is_accepted(tmp_path: Path) -> None:
    import_file(tmp_path, encode(FULL))
    deploy = Principal.objects.get(name="deploy")
    assert deploy.aws_created_at == datetime(2021, 3, 4, 10, 11, 12, tzinfo=UTC)
    assert deploy.tags == {"team": "platform", "cost-center": "42"}
    assert Principal.objects.get(name="web").last_used_region == "eu-west-1"
    assert ManagedPolicy.objects.get(name="ops-boundary").default_version == "v2"


def test_an_import_while_another_runs_is_refused_with_a_message(tmp_path: Path) -> None:
    import_file(tmp_path, encode(SMALL))
    account = LinkedAccount.objects.get()
    SyncRun.objects.create(account=account, status=SyncStatus.QUEUED)
    with pytest.raises(CommandError, match="has a sync or import in progress"):
        import_file(tmp_path, encode(SMALL))


def test_an_import_killed_while_running_is_reaped_and_the_account_imports_again(tmp_path: Path) -> None:
    """A killed import leaves its run `running`: it has a heartbeat, so the reaper fails it when stale."""
    account = LinkedAccount.objects.create(account_id=ACCOUNT, name="a", enabled=False)
    run = ImportCommand()._start(account)  # what the command does before storing; then it is killed
    assert sync_runs_reap_stale(now=run.started_at + timedelta(days=1)) == 1
    run.refresh_from_db()
    assert run.status == SyncStatus.FAILED
    import_file(tmp_path, encode(SMALL))
    assert SyncRun.objects.filter(status=SyncStatus.SUCCEEDED).count() == 1


def test_a_sync_snapshot_of_a_hostile_document_stores_nothing() -> None:
    """A sync stores what boto3 returned through the same check (datetimes for dates)."""
    account = LinkedAccount.objects.create(account_id=ACCOUNT, name="a", enabled=False)
    data = mutated(("UserDetailList", 0, "CreateDate"), datetime(2021, 3, 4, tzinfo=UTC))
    snapshot_store(account=account, collected=Collected(gaad=data), run=None)
    assert Principal.objects.filter(account=account).count() == 6
    hostile = mutated((*STATEMENT, "Resource"), "x\x00")
    with pytest.raises(GaadError, match=r"RoleDetailList\[2\].RolePolicyList\[0\].PolicyDocument"):
        snapshot_store(account=account, collected=Collected(gaad=hostile), run=None)
    assert Principal.objects.filter(account=account).count() == 6


# -- generated hostile files -------------------------------------------------------------------------


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        out.append((*prefix, key))
        out.extend(_paths(value, (*prefix, key)))
    return out


BASES = {"small": SMALL, "full": FULL}
PATHS = [(name, p) for name, base in BASES.items() for p in _paths(base)]
ODD_VALUES = [0, -1, 2**70, 1.5, True, None, [], {}, "", "x", [1], {"a": 1}, [None], {"Statement": 5}]
HOSTILE_STRINGS = [
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "a" * 129,
    "a" * 3000,
    "2023-02-30T00:00:00Z",
    "0000-00-00",
    "9999-12-31T23:59:59-23:59",
    "arn:aws:iam::111122223333:role/\n",
    "${aws:username}",
    "%7B%22Statement%22%3ANaN%7D",
]


@st.composite
def hostile_files(draw: st.DrawFn) -> bytes:
    base_name, path = draw(st.sampled_from(PATHS))
    base = BASES[base_name]
    how = draw(
        st.sampled_from(["type", "delete", "nan", "deep", "string", "duplicate", "key", "bytes", "twice"])
    )
    if how == "type":
        return encode(mutated(path, draw(st.sampled_from(ODD_VALUES)), base))
    if how == "delete":
        return encode(without(path, base))
    if how == "nan":
        return encode(mutated(path, draw(st.sampled_from([float("nan"), float("inf"), float("-inf")])), base))
    if how == "deep":
        return nested(path, draw(st.sampled_from([300, DEEP])), base)
    if how == "string":
        value = at(base, path)
        extra = draw(st.sampled_from(HOSTILE_STRINGS))
        return encode(mutated(path, value + extra if isinstance(value, str) else extra, base))
    if how == "duplicate":
        parent = at(base, path[:-1])
        if isinstance(parent, list):
            return encode(doubled(path, base))
        return duplicate_key(path[:-1], base) if path[:-1] else encode(base)
    if how == "key":
        return encode(mutated(path, {draw(st.sampled_from(HOSTILE_STRINGS)): "v"}, base))
    if how == "twice":
        _, other = draw(st.sampled_from([p for p in PATHS if p[0] == base_name]))
        first = mutated(path, draw(st.sampled_from(ODD_VALUES)), base)
        value = draw(st.sampled_from(HOSTILE_STRINGS))
        with contextlib.suppress(KeyError, IndexError, TypeError):  # the first change removed the place
            at(first, other[:-1])[other[-1]] = value
        return encode(first)
    raw = encode(base)
    cut = draw(st.integers(min_value=0, max_value=len(raw) - 1))
    return (
        raw[:cut] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"}"])) + raw[cut + 1 :]
    )


def test_generated_hostile_files_fail_cleanly_or_import(tmp_path: Path) -> None:
    """Each generated file is refused with an error that names the place and stores nothing, or (the
    mutation was harmless) imports; either way no traceback. Then a good file imports."""
    refused: list[str] = []

    @settings(
        max_examples=200,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(hostile_files())
    def attempt(raw: bytes) -> None:
        with transaction.atomic():
            try:
                import_file(tmp_path, raw)
            except CommandError as exc:
                assert LOCATION.search(str(exc)), str(exc)
                assert stored() == {k: 0 for k in stored()}, str(exc)
                refused.append(str(exc))
            transaction.set_rollback(True)  # an accepted file is undone: each example starts empty

    attempt()
    assert len(refused) > 100  # most mutations are hostile: the test exercises refusals, not imports
    import_file(tmp_path, encode(SMALL))
    assert SyncRun.objects.get().status == SyncStatus.SUCCEEDED
