"""A relying party built on PyPI `authlib`, run by crates/server/tests/e2e/oidc.rs.

Environment: KC_ISSUER, KC_CLIENT_ID, KC_CLIENT_SECRET, KC_CALLBACK_PORT, KC_API_BASE.
Prints one JSON line {"auth_url": ...} once it listens for the callback on
http://127.0.0.1:KC_CALLBACK_PORT/callback; the test drives a browser there. After the
callback it runs the rest of the flow with the library and prints {"report": {...}}, then
exits (non-zero, with {"error": ...}, on any failure).
"""

import json
import os
import sys
import traceback
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

SCOPE = "openid profile email offline_access users:read portfolios:read"


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    issuer = os.environ["KC_ISSUER"]
    client_id = os.environ["KC_CLIENT_ID"]
    client_secret = os.environ["KC_CLIENT_SECRET"]
    port = int(os.environ["KC_CALLBACK_PORT"])
    api_base = os.environ["KC_API_BASE"]
    redirect_uri = f"http://127.0.0.1:{port}/callback"

    meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert meta["issuer"] == issuer, meta
    session = OAuth2Session(
        client_id,
        client_secret,
        scope=SCOPE,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post",
    )
    code_verifier = generate_token(48)
    nonce = generate_token(20)
    auth_url, state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce
    )

    received = {}

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if not self.path.startswith("/callback"):
                self.send_response(404)
                self.end_headers()
                return
            received["url"] = f"http://127.0.0.1:{port}{self.path}"
            body = b'<!doctype html><title>RP</title><h1 data-testid="rp-done">Signed in with authlib</h1>'
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", port), Callback)
    out({"auth_url": auth_url})
    while "url" not in received:
        server.handle_request()
    server.server_close()

    # authlib checks the returned state against the one it made.
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=received["url"], code_verifier=code_verifier, state=state
    )

    # ID token validation by the library: signature with the JWKS, then iss, aud, exp, iat, nonce.
    jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(
        token["id_token"],
        jwks,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": issuer}},
        claims_params={"nonce": nonce, "client_id": client_id},
    )
    claims.validate()
    # The access token is a JWT too (EdDSA): verify it with the same key set.
    access_claims = jwt.decode(token["access_token"], jwks)
    access_claims.validate()

    userinfo = session.get(meta["userinfo_endpoint"]).json()
    data_api = requests.get(
        f"{api_base}/api/v1/userinfo",
        headers={
            "Authorization": f"Bearer {token['access_token']}",
            "X-Client-Id": client_id,
            "X-Client-Secret": client_secret,
        },
        timeout=10,
    )

    first_refresh = token["refresh_token"]
    refreshed = session.refresh_token(meta["token_endpoint"], refresh_token=first_refresh)
    introspected = session.introspect_token(meta["introspection_endpoint"], token=refreshed["access_token"]).json()

    revoked = session.revoke_token(
        meta["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token"
    )
    after = session.introspect_token(meta["introspection_endpoint"], token=refreshed["access_token"]).json()
    userinfo_after = requests.get(
        meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {refreshed['access_token']}"}, timeout=10
    )

    try:
        session.refresh_token(meta["token_endpoint"], refresh_token=first_refresh)
        reuse_error = None
    except OAuthError as e:
        reuse_error = e.error

    # client_credentials (RFC 6749 §4.4): the client for itself; no refresh token, no ID token,
    # and no user's data on the Data API.
    cc_session = OAuth2Session(
        client_id, client_secret, scope="portfolios:read", token_endpoint_auth_method="client_secret_basic"
    )
    cc = cc_session.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    cc_introspected = cc_session.introspect_token(meta["introspection_endpoint"], token=cc["access_token"]).json()
    cc_data_api = requests.get(
        f"{api_base}/api/v1/holdings",
        headers={
            "Authorization": f"Bearer {cc['access_token']}",
            "X-Client-Id": client_id,
            "X-Client-Secret": client_secret,
        },
        timeout=10,
    )

    out(
        {
            "report": {
                "issuer": claims["iss"],
                "id_token_alg": jwt.decode(token["id_token"], jwks).header["alg"],
                "access_token_alg": access_claims.header["alg"],
                "sub": claims["sub"],
                "aud": claims["aud"],
                "nonce_ok": claims["nonce"] == nonce,
                "scope": token["scope"],
                "expires_in": token["expires_in"],
                "userinfo_sub": userinfo["sub"],
                "data_api_status": data_api.status_code,
                "refresh_rotated": refreshed["refresh_token"] != first_refresh,
                "introspection_active": introspected["active"],
                "revocation_status": revoked.status_code,
                "introspection_after_revocation": after["active"],
                "userinfo_after_revocation": userinfo_after.status_code,
                "reuse_error": reuse_error,
                "cc_scope": cc["scope"],
                "cc_expires_in": cc["expires_in"],
                "cc_refresh_token": "refresh_token" in cc,
                "cc_id_token": "id_token" in cc,
                "cc_introspection_active": cc_introspected["active"],
                "cc_introspection_sub": cc_introspected.get("sub"),
                "cc_data_api_status": cc_data_api.status_code,
            }
        }
    )


if __name__ == "__main__":
    try:
        main()
    except Exception:  # report any failure to the driving test
        out({"error": traceback.format_exc()})
        sys.exit(1)
