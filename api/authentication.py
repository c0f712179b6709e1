"""Personal API tokens in the Authorization header: `Authorization: Bearer cpt_<prefix>_<secret>`."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from api.models import ApiToken
from api.services import api_token_find, api_token_record_use
from audit.context import client_ip


class ApiTokenAuthentication(BaseAuthentication):
    """Authenticates a request by its bearer token and records the use (when, from which address: the
    address the trusted proxies forwarded, audit.context.client_ip). Expired, revoked and unknown tokens
    answer 401, and so does a token whose owner can no longer sign in."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the token as: Authorization: Bearer <token>."))
        try:
            secret = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("This token is not valid.")) from None
        token = api_token_find(secret)
        if token is None:
            raise exceptions.AuthenticationFailed(_("This token is not valid."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This token was revoked."))
        if not token.is_active:
            raise exceptions.AuthenticationFailed(_("This token has expired. Create a new one on your account page."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("This token's account is disabled."))
        api_token_record_use(token=token, ip_address=client_ip(request._request))
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
