"""Checks a whole authorization-details file before anything reads or stores it: one error naming the place.

Anything the rest of the product could not read, store or show (a wrong type, an impossible date, NaN, NUL,
a lone surrogate, a duplicate name, a missing ARN, an over-long field, deep nesting, bytes that are not
UTF-8) is one `GaadError` such as `RoleDetailList[3].RolePolicyList[0].PolicyDocument: ...`. What only IAM
would refuse inside a policy (an Effect of "Maybe") is not an error of the file: that policy is reported on
its principal, as before.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from datetime import datetime
from typing import Any

import orjson

from policy.model import MAX_DOCUMENT_CHARS, PolicyError, load_document_json

# Deeper than this is no authorization-details file (its own shape is six levels, a policy adds at most
# twenty), and recursive readers further on (json.dumps, PostgreSQL) must never meet it. It is the depth
# orjson writes, so that its quick pass below and the walk accept the same files.
MAX_DEPTH = 253
# Integers from -2**63 to below this: what orjson (the `analyze` reader) reads and writes, far below
# Python's 4,300-digit conversion limit.
MAX_INT = 2**64

LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
_KINDS = {"UserDetailList": "user", "GroupDetailList": "group", "RoleDetailList": "role"}
NAME_KEY = {"user": "UserName", "group": "GroupName", "role": "RoleName"}
INLINE_KEY = {"user": "UserPolicyList", "group": "GroupPolicyList", "role": "RolePolicyList"}
# Column sizes in findings/models.py, no smaller than AWS's own limits.
_NAME_CHARS = 128
_PATH_CHARS = 512
_ARN_CHARS = 2048
_VERSION_CHARS = 20
_REGION_CHARS = 32
_PARTITION = r"aws(?:-[a-z]+)*"
_PRINCIPAL_ARN = {
    kind: re.compile(rf"arn:{_PARTITION}:iam::\d{{12}}:{kind}/[^\s]+", re.ASCII) for kind in NAME_KEY
}
_POLICY_ARN = re.compile(rf"arn:{_PARTITION}:iam::(?:\d{{12}}|aws):policy/[^\s]+", re.ASCII)
# IAM's own rule for user, group, role and policy names.
_IAM_NAME = re.compile(r"[\w+=,.@-]+", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_FIRST_YEAR, _LAST_YEAR = 2000, 2100  # IAM began in 2010; a date outside these years is not one it wrote


class GaadError(ValueError):
    """The file is not an authorization-details document we can store; `where` names the place."""

    def __init__(self, problem: str, where: str = "") -> None:
        self.problem = problem
        self.where = where
        super().__init__(f"{where}: {problem}" if where else problem)


Path = tuple[str | int, ...]


def place(path: Path) -> str:
    """`RoleDetailList[3].RolePolicyList[0]`; a very deep path keeps its start and its length."""
    shown = path if len(path) <= 12 else path[:10]
    out = ""
    for part in shown:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier() and part.isascii():
            out += f".{part}" if out else part
        else:
            out += f"[{_short(part)}]"
    return out if len(path) <= 12 else f"{out}… ({len(path)} levels)"


def _short(value: str) -> str:
    """A bounded, printable, encodable form of any string (repr escapes NUL and lone surrogates)."""
    text = repr(value[:60] + ("…" if len(value) > 60 else ""))
    return text.encode("ascii", "backslashreplace").decode("ascii")


class _DuplicateKeys(dict[str, Any]):
    """An object in which a key appeared more than once: the check reports it where it is."""

    duplicate: str = ""


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    marked = _DuplicateKeys(out)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            marked.duplicate = key
            break
        seen.add(key)
    return marked


def gaad_from_json(raw: bytes) -> Any:
    """Decode a file's bytes, strictly: UTF-8 (a leading byte-order mark allowed), JSON with no duplicate
    keys, no NaN or Infinity. The result still needs `gaad_check`."""
    if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise GaadError(
            "the file is UTF-16 text; save it as UTF-8 (in PowerShell: ... | Out-File -Encoding utf8 file.json)"
        )
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise GaadError(
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line} (byte {exc.start:,}) {exc.reason}"
        ) from None
    try:
        return json.loads(text, object_pairs_hook=_object_pairs, parse_constant=_keep_constant)
    except json.JSONDecodeError as exc:
        raise GaadError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (RecursionError, ValueError) as exc:  # nested thousands deep, an integer of thousands of digits
        problem = "nested too deeply" if isinstance(exc, RecursionError) else "a number too large to read"
    try:
        orjson.loads(text)  # stricter than json, it says where
    except orjson.JSONDecodeError as exc:
        raise GaadError(f"{problem} ({exc.msg}) at line {exc.lineno} column {exc.colno}") from None
    raise GaadError(problem)


def _keep_constant(name: str) -> float:
    """NaN, Infinity or -Infinity as written in the file: kept as a float so the check can say where."""
    return float(name.replace("Infinity", "inf"))


def _string_problem(value: str, limit: int) -> str | None:
    if len(value) > limit:
        return f"is {len(value):,} characters long (at most {limit:,})"
    if "\x00" in value:
        return f"contains a NUL character at position {value.index(chr(0))}"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"contains a lone surrogate \\u{ord(value[exc.start]):04x} at position {exc.start}"
    return None


def _scalar_problem(value: Any, key: str | int) -> str | None:
    """What is wrong with one leaf under `key`, None when it is fine."""
    kind = type(value)
    if kind is str:
        return _string_problem(value, MAX_DOCUMENT_CHARS)
    if value is None or kind is bool:
        return None
    if kind is int:
        if -(2**63) <= value < MAX_INT:
            return None
        return f"is a number out of range ({len(str(abs(value)))} digits)"
    if kind is float:
        if math.isfinite(value):
            return None
        return f"{'NaN' if math.isnan(value) else 'Infinity'} is not a JSON number"
    if kind is datetime and isinstance(key, str) and key.endswith("Date"):
        return None  # boto3 gives CreateDate and the like as datetimes; which dates exist is checked later
    return f"is {_type_name(value)}, not a JSON value"


def check_tree(value: Any, path: Path = ()) -> int:
    """Every value under `value`: depth, keys, strings, numbers; returns the characters of its strings.
    Iterative: a 100,000-deep input is measured, not recursed into."""
    chars = 0
    stack: list[tuple[Any, Path]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if len(where) > MAX_DEPTH:
            raise GaadError(f"nested deeper than {MAX_DEPTH} levels", place(where))
        pairs: Any
        is_dict = False
        if type(item) is list:
            pairs = enumerate(item)
        elif isinstance(item, dict):
            is_dict = True
            if isinstance(item, _DuplicateKeys):
                raise GaadError(f"key {_short(item.duplicate)} appears more than once", place(where))
            pairs = item.items()
        else:
            problem = _scalar_problem(item, where[-1] if where else "")
            if problem:
                raise GaadError(problem, place(where))
            chars += len(item) if type(item) is str else 0
            continue
        for key, child in pairs:
            if type(key) is str:
                chars += len(key)
                if len(key) > _NAME_CHARS * 8 or not key.isascii() or "\x00" in key:
                    problem = _string_problem(key, _NAME_CHARS * 8)
                    if problem:
                        raise GaadError(f"a key {problem}", place(where))
            elif is_dict:
                raise GaadError(f"has a key of type {type(key).__name__}; keys are strings", place(where))
            kind = type(child)
            if kind is str:
                # The common case, inline: most of a file is short ASCII strings.
                chars += len(child)
                if len(child) <= MAX_DOCUMENT_CHARS and child.isascii() and "\x00" not in child:
                    continue
            elif kind is dict or kind is list or isinstance(child, dict | list):
                stack.append((child, (*where, key)))
                continue
            problem = _scalar_problem(child, key)
            if problem:
                raise GaadError(problem, place((*where, key)))
    return chars


def check_document(value: Any, path: Path) -> None:
    """A policy document: an object (its values were checked with the whole file), or JSON text, plain or
    URL-encoded as IAM's API returns it. Text that is not JSON stays a problem of that policy (reported on
    its principal); what it decodes to must be storable, like an object given directly."""
    if isinstance(value, str):
        try:
            decoded = load_document_json(value, "document")
        except PolicyError:
            return
        if check_tree(decoded, path) > MAX_DOCUMENT_CHARS:
            raise GaadError(f"is larger than {MAX_DOCUMENT_CHARS:,} characters", place(path))
        return
    if not isinstance(value, dict):
        raise GaadError(
            f"must be a policy document (an object or JSON text), not {_type_name(value)}", place(path)
        )
    try:
        size = len(orjson.dumps(value, option=_OPAQUE))
    except orjson.JSONEncodeError as exc:  # a datetime, which only a date field outside a policy may be
        raise GaadError(f"holds a value that is not JSON ({exc})", place(path)) from None
    if size > MAX_DOCUMENT_CHARS:
        check_tree(value, path)  # names an over-long string, when one is
        raise GaadError(f"is larger than {MAX_DOCUMENT_CHARS:,} characters", place(path))


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), f"a {type(value).__name__}"
    )


def _date_problem(value: Any) -> str | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        if not _DATE.fullmatch(value):
            return f"{_short(value)} is not an ISO 8601 date and time"
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            return f"{_short(value)} is not a date that exists ({exc})"
    else:
        return f"must be a date and time, not {_type_name(value)}"
    if not _FIRST_YEAR <= moment.year < _LAST_YEAR:
        return f"{moment.isoformat()} is not a date IAM could have written"
    return None


class _Shape:
    """The fields the product reads, each checked for its type, size and uniqueness."""

    def __init__(self) -> None:
        self.principal_arns: dict[str, Path] = {}
        self.names: dict[str, Path] = {}
        self.policy_arns: dict[str, Path] = {}

    def obj(self, value: Any, path: Path) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise GaadError(f"must be an object, not {_type_name(value)}", place(path))
        return value

    def items(self, parent: dict[str, Any], key: str, path: Path) -> list[Any]:
        value = parent.get(key, [])
        if not isinstance(value, list):
            raise GaadError(f"must be a list, not {_type_name(value)}", place((*path, key)))
        return value

    def text(
        self,
        parent: dict[str, Any],
        key: str,
        path: Path,
        limit: int,
        *,
        required: bool = False,
        pattern: re.Pattern[str] | None = None,
        rule: str = "",
    ) -> str | None:
        if key not in parent:
            if required:
                raise GaadError(f"has no {key}", place(path))
            return None
        value = parent[key]
        if not isinstance(value, str):
            raise GaadError(f"must be a string, not {_type_name(value)}", place((*path, key)))
        if len(value) > limit or not value.isascii() or "\x00" in value:
            problem = _string_problem(value, limit)
            if problem:
                raise GaadError(problem, place((*path, key)))
        if required and not value:
            raise GaadError("is empty", place((*path, key)))
        if pattern is not None and value and not pattern.fullmatch(value):
            raise GaadError(f"{_short(value)} is not {rule}", place((*path, key)))
        return value

    def flag(self, parent: dict[str, Any], key: str, path: Path) -> None:
        if key in parent and not isinstance(parent[key], bool):
            raise GaadError(f"must be true or false, not {_type_name(parent[key])}", place((*path, key)))

    def date(self, parent: dict[str, Any], key: str, path: Path) -> None:
        if key in parent:
            problem = _date_problem(parent[key])
            if problem:
                raise GaadError(problem, place((*path, key)))

    def unique(
        self, seen: dict[str, Path], key: str, what: str, path: Path, shown: str | None = None
    ) -> None:
        """`key` once in `seen`; the error says `what` and, quoted, `shown` (built only on error)."""
        if key in seen:
            label = what if shown is None else f"{what} {_short(shown)}"
            raise GaadError(f"{label} appears twice (also at {place(seen[key])})", place(path))
        seen[key] = path

    def tags(self, parent: dict[str, Any], path: Path) -> None:
        keys: dict[str, Path] = {}
        for n, tag in enumerate(self.items(parent, "Tags", path)):
            where = (*path, "Tags", n)
            key = self.text(self.obj(tag, where), "Key", where, 128, required=True) or ""
            self.text(tag, "Value", where, 256)
            self.unique(keys, key, "tag", where, key)

    def policy_arn(self, parent: dict[str, Any], key: str, path: Path) -> str:
        return (
            self.text(
                parent, key, path, _ARN_CHARS, required=True, pattern=_POLICY_ARN, rule="a managed policy ARN"
            )
            or ""
        )

    def principal(self, item: Any, path: Path, kind: str) -> None:
        self.obj(item, path)
        arn = self.text(
            item,
            "Arn",
            path,
            _ARN_CHARS,
            required=True,
            pattern=_PRINCIPAL_ARN[kind],
            rule=f"an IAM {kind} ARN",
        )
        self.unique(self.principal_arns, arn or "", "ARN", (*path, "Arn"), arn or "")
        name_key = NAME_KEY[kind]
        name = self.text(
            item, name_key, path, _NAME_CHARS, required=True, pattern=_IAM_NAME, rule=f"an IAM {kind} name"
        )
        # IAM names are unique in an account whatever their case; users find their groups by name.
        self.unique(
            self.names,
            f"{kind}:{(name or '').casefold()}",
            f"{kind} name",
            (*path, name_key),
            name or "",
        )
        for key in ("UserId", "RoleId", "GroupId"):
            self.text(item, key, path, _NAME_CHARS)
        self.text(item, "Path", path, _PATH_CHARS)
        self.date(item, "CreateDate", path)
        self.tags(item, path)
        attached: dict[str, Path] = {}
        for n, a in enumerate(self.items(item, "AttachedManagedPolicies", path)):
            where = (*path, "AttachedManagedPolicies", n)
            self.obj(a, where)
            self.text(a, "PolicyName", where, _NAME_CHARS)
            self.unique(attached, self.policy_arn(a, "PolicyArn", where), "the same policy", where)
        if "PermissionsBoundary" in item:
            where = (*path, "PermissionsBoundary")
            self.policy_arn(self.obj(item["PermissionsBoundary"], where), "PermissionsBoundaryArn", where)
            self.text(item["PermissionsBoundary"], "PermissionsBoundaryType", where, _NAME_CHARS)
        inline: dict[str, Path] = {}
        for n, p in enumerate(self.items(item, INLINE_KEY[kind], path)):
            where = (*path, INLINE_KEY[kind], n)
            policy_name = self.text(
                self.obj(p, where),
                "PolicyName",
                where,
                _NAME_CHARS,
                required=True,
                pattern=_IAM_NAME,
                rule="an IAM policy name",
            )
            self.unique(inline, (policy_name or "").casefold(), "policy name", where, policy_name or "")
            if "PolicyDocument" not in p:
                raise GaadError("has no PolicyDocument", place(where))
            check_document(p["PolicyDocument"], (*where, "PolicyDocument"))
        if kind == "user":
            for n, group in enumerate(self.items(item, "GroupList", path)):
                if not isinstance(group, str) or not _IAM_NAME.fullmatch(group) or len(group) > _NAME_CHARS:
                    raise GaadError("must be an IAM group name", place((*path, "GroupList", n)))
        if kind == "role":
            if "AssumeRolePolicyDocument" in item:
                check_document(item["AssumeRolePolicyDocument"], (*path, "AssumeRolePolicyDocument"))
            if "RoleLastUsed" in item:
                where = (*path, "RoleLastUsed")
                self.date(self.obj(item["RoleLastUsed"], where), "LastUsedDate", where)
                self.text(item["RoleLastUsed"], "Region", where, _REGION_CHARS)

    def policy(self, item: Any, path: Path) -> None:
        self.obj(item, path)
        arn = self.policy_arn(item, "Arn", path)
        self.unique(self.policy_arns, arn, "ARN", (*path, "Arn"), arn)
        self.text(item, "PolicyName", path, _NAME_CHARS, pattern=_IAM_NAME, rule="an IAM policy name")
        self.text(item, "PolicyId", path, _NAME_CHARS)
        self.text(item, "Path", path, _PATH_CHARS)
        self.text(item, "Description", path, 1000)
        default_id = self.text(item, "DefaultVersionId", path, _VERSION_CHARS)
        for key in ("CreateDate", "UpdateDate"):
            self.date(item, key, path)
        self.flag(item, "IsAttachable", path)
        self.tags(item, path)
        versions: dict[str, Path] = {}
        default_seen = ""
        for n, v in enumerate(self.items(item, "PolicyVersionList", path)):
            where = (*path, "PolicyVersionList", n)
            vid = self.text(self.obj(v, where), "VersionId", where, _VERSION_CHARS, required=True) or ""
            self.unique(versions, vid, "version", where, vid)
            self.flag(v, "IsDefaultVersion", where)
            self.date(v, "CreateDate", where)
            if "Document" not in v:
                raise GaadError("has no Document", place(where))
            check_document(v["Document"], (*where, "Document"))
            if v.get("IsDefaultVersion"):
                if default_seen:
                    raise GaadError(f"is a second default version (also {default_seen})", place(where))
                if default_id and vid != default_id:
                    raise GaadError(
                        f"is marked default but DefaultVersionId is {_short(default_id)}", place(where)
                    )
                default_seen = vid
        if versions and not default_seen:
            # The stored document and the analysed one must be the same version: say which it is.
            raise GaadError("has no version marked IsDefaultVersion", place((*path, "PolicyVersionList")))


def _plain_json(data: Any) -> bool:
    """True when C encoders vouch that the walk would find nothing wrong in `data` (the common case, in a
    fraction of the walk's time); False when it must be walked."""
    try:
        # Refuses lone surrogates, keys that are not strings, integers beyond 64 bits, nesting beyond
        # MAX_DEPTH, and (passed through) datetimes and subclasses such as a dict with a duplicate key.
        text = orjson.dumps(data, option=_OPAQUE)
    except orjson.JSONEncodeError:
        return False
    if b"\\u0000" in text:
        return False
    if b"null" in text:  # orjson writes NaN and Infinity as null
        try:
            json.dumps(data, allow_nan=False)
        except ValueError:
            return False
    return True


_OPAQUE = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS


def gaad_check(data: Any) -> None:
    """Raise GaadError, naming the place, unless every part of `data` can be read and stored."""
    if not isinstance(data, dict) or not any(k in data for k in LISTS):
        raise GaadError(
            "not a get-account-authorization-details document: expected UserDetailList, RoleDetailList, "
            "GroupDetailList or Policies at the top level"
        )
    # First every value (fields the product does not read included): depth, NUL, surrogates, numbers.
    if not _plain_json(data):
        check_tree(data)
    shape = _Shape()
    for key in LISTS:
        for n, item in enumerate(shape.items(data, key, ())):
            if key == "Policies":
                shape.policy(item, (key, n))
            else:
                shape.principal(item, (key, n), _KINDS[key])
