"""python -m tests.sso.saml_idp SP_METADATA_FILE WORKDIR: a SAML 2.0 identity provider for the tests.

pysaml2's own IdP (saml2.server.Server) in its own process on 127.0.0.1 (a free port), with a signing key
and a self-signed certificate made at start (cryptography) in WORKDIR; nothing secret is in the repository.
Pages: GET /metadata (its metadata), GET /sso/redirect (the SP's request: a login form), POST /sso/login
(a signed assertion in a form posted to the SP). Users are set by POST /control/user (X-Control-Token).
Prints `listening on PORT` once it answers.
"""

from __future__ import annotations

import base64
import datetime
import html
import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import AUTHN_PASSWORD, NAME_FORMAT_URI, NAMEID_FORMAT_UNSPECIFIED, NameID
from saml2.server import Server
from saml2.sigver import get_xmlsec_binary

USERS: dict[str, dict[str, Any]] = {}


def self_signed(workdir: Path) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test idp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = workdir / "idp.key", workdir / "idp.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_file), str(cert_file)


def idp_config(base: str, sp_metadata: str, key_file: str, cert_file: str) -> IdPConfig:
    conf = IdPConfig()
    conf.load(
        {
            "entityid": f"{base}/metadata",
            "xmlsec_binary": get_xmlsec_binary(["/usr/bin", "/usr/local/bin"]),
            "key_file": key_file,
            "cert_file": cert_file,
            "metadata": {"local": [sp_metadata]},
            "allow_unknown_attributes": True,
            "service": {
                "idp": {
                    "name": "test idp",
                    "endpoints": {
                        "single_sign_on_service": [(f"{base}/sso/redirect", BINDING_HTTP_REDIRECT)]
                    },
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 15},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_URI,
                        }
                    },
                    "name_id_format": [NAMEID_FORMAT_UNSPECIFIED],
                    "want_authn_requests_signed": False,
                }
            },
        }
    )
    return conf


def page(body: str) -> str:
    return f"<!doctype html><html><head><title>Test SAML IdP</title></head><body>{body}</body></html>"


class App:
    def __init__(self, server: Server, conf: IdPConfig) -> None:
        self.server = server
        self.conf = conf

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        form: dict[str, str] = {}
        body = b""
        if method == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if path == "/metadata":
            return self.reply(start_response, create_metadata_string(None, config=self.conf), "text/xml")
        if path == "/sso/redirect":
            fields = "".join(
                f'<input type="hidden" name="{k}" value="{html.escape(query.get(k, ""))}">'
                for k in ("SAMLRequest", "RelayState")
            )
            return self.reply(
                start_response,
                page(
                    '<h1>Test SAML identity provider</h1><form method="post" action="/sso/login">'
                    '<input name="username"><input name="password" type="password">'
                    f'{fields}<button type="submit">Sign in</button></form>'
                ),
            )
        if path == "/sso/login" and method == "POST":
            return self.login(form, start_response)
        if path == "/control/user" and method == "POST":
            if environ.get("HTTP_X_CONTROL_TOKEN") != os.environ["IDP_CONTROL_TOKEN"]:
                return self.reply(start_response, "no", status="403 Forbidden")
            data = json.loads(body)
            USERS[data["username"]] = data
            return self.reply(start_response, "{}", "application/json")
        return self.reply(start_response, "not found", status="404 Not Found")

    def login(self, form: dict[str, str], start_response: Any) -> list[bytes]:
        user = USERS.get(form.get("username", ""))
        if user is None or user["password"] != form.get("password"):
            return self.reply(
                start_response, page("<p id='error'>Wrong password.</p>"), status="401 Unauthorized"
            )
        request = self.server.parse_authn_request(form["SAMLRequest"], BINDING_HTTP_REDIRECT)
        args = self.server.response_args(request.message, [BINDING_HTTP_POST])
        args.pop("binding", None)
        response = self.server.create_authn_response(
            {"uid": [user["username"]], "mail": [user.get("email", "")], "groups": user.get("groups", [])},
            userid=user["username"],
            name_id=NameID(format=NAMEID_FORMAT_UNSPECIFIED, text=user["username"]),
            authn={"class_ref": AUTHN_PASSWORD, "authn_auth": self.conf.entityid},
            sign_assertion=True,
            sign_response=False,
            **args,
        )
        encoded = base64.b64encode(str(response).encode()).decode()
        return self.reply(
            start_response,
            page(
                f'<form method="post" action="{html.escape(args["destination"])}" id="saml-post">'
                f'<input type="hidden" name="SAMLResponse" value="{encoded}">'
                f'<input type="hidden" name="RelayState" value="{html.escape(form.get("RelayState", ""))}">'
                '<button type="submit">Continue</button></form>'
            ),
        )

    @staticmethod
    def reply(
        start_response: Any, text: str | bytes, kind: str = "text/html", status: str = "200 OK"
    ) -> list[bytes]:
        data = text.encode() if isinstance(text, str) else text
        start_response(
            status, [("Content-Type", f"{kind}; charset=utf-8"), ("Content-Length", str(len(data)))]
        )
        return [data]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    sp_metadata, workdir = sys.argv[1], Path(sys.argv[2])
    httpd: WSGIServer = make_server("127.0.0.1", 0, lambda e, s: [b""], handler_class=QuietHandler)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    key_file, cert_file = self_signed(workdir)
    conf = idp_config(base, sp_metadata, key_file, cert_file)
    httpd.set_app(App(Server(config=conf), conf))
    print(f"listening on {httpd.server_address[1]}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
