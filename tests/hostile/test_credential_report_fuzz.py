"""The credential-report parser on hostile input: a list of complete rows, or one clear error."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.aws.collect import CredentialReportError, parse_credential_report

HEADER = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
]
CELL = st.one_of(
    st.sampled_from(
        ["N/A", "no_information", "not_supported", "true", "false", "", "2026-01-01T00:00:00+00:00"]
    ),
    st.text(max_size=40),
    st.sampled_from(['=HYPERLINK("x")', "<b>x</b>", 'a"b', "a,b", "a\nb", "\x00", "\ufeff", "é" * 50]),
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)  # quotes any cell holding \r or \n
    return out.getvalue()


@FUZZ
@given(st.lists(st.lists(CELL, min_size=len(HEADER), max_size=len(HEADER)), max_size=8))
def test_well_formed_reports_round_trip(rows: list[list[str]]) -> None:
    parsed = parse_credential_report(_csv([HEADER, *rows]).encode())
    assert len(parsed) == len(rows)
    for row, cells in zip(parsed, rows, strict=True):
        assert list(row) == HEADER
        for name, cell in zip(HEADER, cells, strict=True):
            if cell in ("N/A", "no_information", "not_supported", ""):
                assert row[name] is None
            elif cell in ("true", "false"):
                assert row[name] is (cell == "true")
            else:
                assert row[name] == cell


@FUZZ
@given(st.one_of(st.binary(max_size=600), st.text(max_size=600).map(str.encode)))
def test_arbitrary_bytes_parse_or_fail_clearly(content: bytes) -> None:
    try:
        rows = parse_credential_report(content)
    except CredentialReportError as exc:
        assert str(exc).startswith("the credential report") or str(exc).startswith("credential report line")
    else:
        assert all(list(row)[:2] == ["user", "arn"] for row in rows)


@FUZZ
@given(
    st.lists(st.lists(CELL, min_size=len(HEADER), max_size=len(HEADER)), min_size=1, max_size=5),
    st.data(),
)
def test_a_damaged_row_names_its_line(rows: list[list[str]], data: st.DataObject) -> None:
    broken = data.draw(st.integers(0, len(rows) - 1))
    cut = data.draw(st.integers(1, len(HEADER) - 1))
    rows[broken] = rows[broken][:cut]
    text = _csv([HEADER, *rows])
    with pytest.raises(CredentialReportError, match=r"credential report line \d+ has \d+ cells"):
        parse_credential_report(text)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00user", "not UTF-8"),
        (b"name,arn\nalice,arn:aws:iam::1:user/alice\n", "unexpected header"),
        (b"user,arn,arn\n", "unexpected header"),
        (b'user,arn\n"alice,arn\n', "not valid CSV"),
        (b"user,arn\n" + b"x" * 200_000 + b",y\n", "not valid CSV"),
    ],
)
def test_broken_reports_say_what_is_wrong(content: bytes, message: str) -> None:
    with pytest.raises(CredentialReportError, match=message):
        parse_credential_report(content)
