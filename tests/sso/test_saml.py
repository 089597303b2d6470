"""SAML 2.0 end to end against pysaml2's identity provider in its own process on loopback.

The app fetches the IdP's metadata over HTTP, sends a real AuthnRequest, and checks the signed assertion
the IdP answers with (xmlsec1); the app's side runs in Django's test client.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string

from accounts.roles import Role, user_role
from accounts.saml import sp_config_dict
from core.models import AuditEvent
from tests.sso.servers import SamlIdp

# One worker runs the whole module under `make test` (--dist loadgroup): one IdP process, not two.
pytestmark = pytest.mark.xdist_group("sso-saml")

GROUP_MAP = {
    "sec-viewers": {"role": "viewer", "accounts": None},
    "iam-admins": {"role": "admin", "accounts": None},
}
PASSWORD = "saml idp password"
SITE = "http://testserver"


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamlIdp]:
    tmp = tmp_path_factory.mktemp("saml")
    with override_settings(SITE_URL=SITE):
        config = sp_config_dict()
    del config["metadata"]  # the IdP needs ours before we can read its own
    sp = SPConfig()
    sp.load(config)
    (tmp / "sp.xml").write_bytes(create_metadata_string(None, config=sp))
    server = SamlIdp(tmp, tmp / "sp.xml")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def saml(idp: SamlIdp, settings: Any, db: None) -> SamlIdp:
    settings.SITE_URL = SITE
    settings.IAMREVIEW_SAML_ENABLED = True
    settings.IAMREVIEW_SAML_IDP_METADATA_URL = f"{idp.base}/metadata"
    settings.IAMREVIEW_SSO_GROUP_MAP = GROUP_MAP
    return idp


def idp_user(idp: SamlIdp, username: str, *groups: str) -> None:
    idp.control(
        "user", username=username, password=PASSWORD, email=f"{username}@example.com", groups=list(groups)
    )


def answer(client: Client, idp: SamlIdp, username: str) -> dict[str, str]:
    start = client.get("/saml/login/?next=/findings/")
    assert start.status_code == 302 and start["Location"].startswith(f"{idp.base}/sso/redirect?"), start
    posted = idp.sign_in(start["Location"], username, PASSWORD)
    assert posted["action"] == f"{SITE}/saml/acs/"
    return posted


def post(client: Client, posted: dict[str, str]) -> Any:
    return client.post(
        "/saml/acs/", {"SAMLResponse": posted["SAMLResponse"], "RelayState": posted.get("RelayState", "")}
    )


def test_sign_in_creates_the_user_and_a_group_change_changes_the_role(saml: SamlIdp) -> None:
    idp_user(saml, "sam", "sec-viewers")
    client = Client()
    response = post(client, answer(client, saml, "sam"))
    assert response.status_code == 302 and response["Location"] == "/findings/", response
    sam = get_user_model().objects.get(username="sam")
    assert user_role(sam) == Role.VIEWER and sam.email == "sam@example.com" and not sam.has_usable_password()
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="login.sso", summary__contains="SAML").count() == 1

    idp_user(saml, "sam", "iam-admins")
    again = Client()
    post(again, answer(again, saml, "sam"))
    assert user_role(get_user_model().objects.get(username="sam")) == Role.ADMIN
    change = AuditEvent.objects.filter(action="user.role_changed").order_by("id").last()
    assert change.before["role"] == "viewer" and change.after["role"] == "admin"


def test_no_mapped_group_is_refused_with_a_message(saml: SamlIdp) -> None:
    idp_user(saml, "tom", "sales")
    client = Client()
    response = post(client, answer(client, saml, "tom"))
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert b"none of your groups (sales) gives access" in client.get("/login/").content
    assert not get_user_model().objects.filter(username="tom").exists()


def test_an_altered_assertion_is_refused(saml: SamlIdp) -> None:
    """Granting oneself a group after the IdP signed breaks the signature."""
    idp_user(saml, "uma", "sec-viewers")
    client = Client()
    posted = answer(client, saml, "uma")
    xml = base64.b64decode(posted["SAMLResponse"])
    assert b"sec-viewers" in xml
    posted["SAMLResponse"] = base64.b64encode(xml.replace(b"sec-viewers", b"iam-admins")).decode()
    response = post(client, posted)
    assert response["Location"] == "/login/"
    assert b"could not be accepted" in client.get("/login/").content
    assert not get_user_model().objects.filter(username="uma").exists()
    assert AuditEvent.objects.filter(action="login.sso_refused", summary__contains="SAML").exists()


def test_an_answer_is_accepted_once_and_only_by_the_browser_that_asked(saml: SamlIdp) -> None:
    idp_user(saml, "vic", "sec-viewers")
    asking = Client()
    posted = answer(asking, saml, "vic")
    other = Client()  # never started a sign-in: the answer is unsolicited here
    assert post(other, posted)["Location"] == "/login/"
    assert other.get("/").status_code == 302
    assert post(asking, posted)["Location"] == "/findings/"
    asking.logout()
    assert post(asking, posted)["Location"] == "/login/"  # replayed
    assert asking.get("/").status_code == 302


def test_saml_is_off_unless_configured(client: Client, db: None) -> None:
    assert client.get("/saml/login/").status_code == 404
    assert client.post("/saml/acs/", {"SAMLResponse": "x"}).status_code == 404
    assert client.get("/saml/metadata/").status_code == 404


def test_metadata_names_our_acs(saml: SamlIdp, client: Client) -> None:
    response = client.get("/saml/metadata/")
    assert response.status_code == 200
    assert b'Location="http://testserver/saml/acs/"' in response.content


def test_unreachable_metadata_is_a_message_not_an_error_page(saml: SamlIdp, settings: Any) -> None:
    settings.IAMREVIEW_SAML_IDP_METADATA_URL = f"{saml.base}/no-such-metadata"
    client = Client()
    response = client.get("/saml/login/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert b"cannot be reached right now" in client.get("/login/").content
