"""A small OpenID Connect provider on loopback (pytest-httpserver), shaped like Entra ID / Google:
discovery document, authorization endpoint (redirects back with a code), token endpoint (checks the
client secret, the redirect URI and the PKCE verifier, and issues an RS256 id_token signed with a test
key), JWKS and userinfo. It signs in whoever the test sets as `next_user`."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

CLIENT_ID = "civicpost-test-client"
CLIENT_SECRET = "fake-oidc-client-secret-5f1e"  # noqa: S105


@dataclass
class FakeOIDCProvider:
    server: HTTPServer
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    kid: str = "fake-key-1"
    next_user: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    # Tests can make the provider misbehave: sign with another key, or address the token to another client.
    audience_override: str | None = None

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.issuer = self.server.url_for("/").rstrip("/")
        self.server.expect_request("/.well-known/openid-configuration").respond_with_json(self.discovery())
        self.server.expect_request("/authorize").respond_with_handler(self._authorize)
        self.server.expect_request("/token", method="POST").respond_with_handler(self._token)
        self.server.expect_request("/userinfo").respond_with_handler(self._userinfo)
        self.server.expect_request("/jwks").respond_with_handler(lambda request: Response(json.dumps(self.jwks())))

    # --- What allauth reads --------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email"],
        }

    def jwks(self) -> dict[str, Any]:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def settings_app(self, *, provider_id: str = "cityidp", name: str = "City sign-in", **extra: Any) -> dict:
        """The allauth app this provider answers for (as accounts.sso builds it)."""
        return {
            "provider_id": provider_id,
            "name": name,
            "client_id": self.client_id,
            "secret": self.client_secret,
            "settings": {"server_url": self.issuer, "oauth_pkce_enabled": True, **extra},
        }

    # --- Endpoints -----------------------------------------------------------------------------------

    def _authorize(self, request: Request) -> Response:
        args = request.args.to_dict()
        self.authorize_requests.append(args)
        if args.get("client_id") != self.client_id or args.get("response_type") != "code":
            return Response("unknown client", status=400)
        if "openid" not in args.get("scope", "").split():
            return Response("openid scope missing", status=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "user": dict(self.next_user),
            "redirect_uri": args["redirect_uri"],
            "code_challenge": args.get("code_challenge"),
            "nonce": args.get("nonce"),
        }
        location = f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args.get('state', '')})}"
        return Response(status=302, headers={"Location": location})

    def _client_authenticated(self, request: Request, form: dict[str, str]) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return client_id == self.client_id and secret == self.client_secret
        return form.get("client_id") == self.client_id and form.get("client_secret") == self.client_secret

    def _token(self, request: Request) -> Response:
        form = {key: values[0] for key, values in parse_qs(request.get_data(as_text=True)).items()}
        self.token_requests.append(form)
        grant = self.codes.pop(form.get("code", ""), None)
        if not self._client_authenticated(request, form):
            return Response(json.dumps({"error": "invalid_client"}), status=401, content_type="application/json")
        if grant is None or form.get("grant_type") != "authorization_code":
            return Response(json.dumps({"error": "invalid_grant"}), status=400, content_type="application/json")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return Response(json.dumps({"error": "invalid_grant"}), status=400, content_type="application/json")
        if grant["code_challenge"]:
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if challenge != grant["code_challenge"]:
                return Response(json.dumps({"error": "invalid_grant"}), status=400, content_type="application/json")
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = grant["user"]
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": self.id_token(grant["user"], nonce=grant["nonce"]),
        }
        return Response(json.dumps(body), content_type="application/json")

    def _userinfo(self, request: Request) -> Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        user = self.access_tokens.get(token)
        if user is None:
            return Response(json.dumps({"error": "invalid_token"}), status=401, content_type="application/json")
        return Response(json.dumps(user), content_type="application/json")

    def id_token(self, user: dict[str, Any], *, nonce: str | None = None) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience_override or self.client_id,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_hex(8),
            **user,
        }
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


def follow_authorize(location: str) -> str:
    """What the browser does at the provider: GET the authorization URL (the user is signed in there)
    and return where the provider sends them back (our callback URL with code and state)."""
    import requests

    response = requests.get(location, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
