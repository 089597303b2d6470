"""The identity providers the SSO tests sign in through: real processes on loopback, one per test module."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parent.parent.parent
CLIENT_ID = "iamreview-tests"


class IdpProcess:
    """`python -m MODULE ARGS`, waiting for its `listening on PORT` line."""

    def __init__(self, module: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.control_token = secrets.token_hex(16)
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env={**os.environ, **env, "IDP_CONTROL_TOKEN": self.control_token, "PYTHONPATH": str(ROOT)},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not (found := re.search(r"listening on (\d+)", log.read_text())):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{module} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        self.base = f"http://127.0.0.1:{found.group(1)}"

    def control(self, what: str, **data: Any) -> None:
        response = requests.post(
            f"{self.base}/control/{what}",
            json=data,
            headers={"X-Control-Token": self.control_token},
            timeout=10,
        )
        response.raise_for_status()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


class OidcIdp(IdpProcess):
    client_secret = secrets.token_hex(24)

    def __init__(self, tmp: Path) -> None:
        super().__init__(
            "tests.sso.oidc_idp", [], {"IDP_DATABASE": str(tmp / "idp.sqlite3")}, tmp / "oidc-idp.log"
        )

    def settings(self) -> dict[str, Any]:
        """The app's settings for this provider (what the IAMREVIEW_OIDC_* variables would give)."""
        return {
            "IAMREVIEW_OIDC_ENABLED": True,
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": self.client_secret,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.base}/o/authorize/",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.base}/o/token/",
            "OIDC_OP_USER_ENDPOINT": f"{self.base}/o/userinfo/",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.base}/o/.well-known/jwks.json",
            "IAMREVIEW_OIDC_ISSUER": f"{self.base}/o",
        }

    def register(self, *redirect_uris: str) -> None:
        self.control(
            "client", client_id=CLIENT_ID, client_secret=self.client_secret, redirect_uris=list(redirect_uris)
        )

    def sign_in(self, authorize_url: str, username: str, password: str) -> str:
        """Follow the provider's pages as a browser would, up to its redirect back to us (returned)."""
        browser = requests.Session()
        response = browser.get(authorize_url, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text[:500]
        login_url = urljoin(self.base, response.headers["Location"])
        page = browser.get(login_url, timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        nxt = re.search(r'name="next" value="([^"]*)"', page.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
        response = browser.post(
            login_url,
            data={"username": username, "password": password, "next": nxt, "csrfmiddlewaretoken": token},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, f"the IdP refused the password: {response.status_code}"
        response = browser.get(
            urljoin(self.base, response.headers["Location"]), allow_redirects=False, timeout=10
        )
        assert response.status_code == 302, response.text[:500]
        return response.headers["Location"]


class SamlIdp(IdpProcess):
    def __init__(self, tmp: Path, sp_metadata: Path) -> None:
        super().__init__("tests.sso.saml_idp", [str(sp_metadata), str(tmp)], {}, tmp / "saml-idp.log")

    def sign_in(self, request_url: str, username: str, password: str) -> dict[str, str]:
        """The login form for the SP's request, then the form the IdP would post back: its fields."""
        browser = requests.Session()
        form = browser.get(request_url, timeout=10)
        fields = dict(re.findall(r'name="(SAMLRequest|RelayState)" value="([^"]*)"', form.text))
        fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
        answer = browser.post(
            f"{self.base}/sso/login", data={**fields, "username": username, "password": password}, timeout=10
        )
        assert answer.status_code == 200, answer.text[:300]
        posted = dict(re.findall(r'name="(SAMLResponse|RelayState)" value="([^"]*)"', answer.text))
        posted["action"] = re.search(r'action="([^"]+)"', answer.text).group(1)  # type: ignore[union-attr]
        return posted
