"""Single sign-on providers, built from the environment for settings.SOCIALACCOUNT_PROVIDERS.

Pure functions (no Django imports): civicpost/settings.py calls `sso_providers()` while settings load.
Nothing configured means no provider and no SSO button on the sign-in page.

SSO only signs in accounts that already exist (matched by e-mail address); cities create the accounts.
An address counts as verified when the identity provider says so (`email_verified`) or when its domain is
one of the provider's `email_domains`, which also refuses every other domain. Microsoft Entra ID sends no
`email_verified`, so give Entra the city's domains, and use the tenant's own URL, never /common: tenants
decide their users' e-mail claims, so only the city's tenant may vouch for a city address.
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

ENTRA_SERVER_URL = "https://login.microsoftonline.com/{tenant}/v2.0"
GOOGLE_SERVER_URL = "https://accounts.google.com"
# Tenant-independent Entra endpoints accept tokens from any organisation's tenant.
MULTI_TENANT_ENTRA = ("/common", "/organizations", "/consumers")


class SSOConfigError(ValueError):
    """The SSO environment variables are malformed; the message names the variable and the fix."""


def _domains(values: Any) -> list[str]:
    if values in (None, "", []):
        return []
    if isinstance(values, str):
        values = values.split(",")
    return sorted({str(value).strip().lower().lstrip("@") for value in values if str(value).strip()})


def _json_list(raw: str, variable: str) -> list[dict[str, Any]]:
    if not raw.strip():
        return []
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise SSOConfigError(f"{variable} is not valid JSON: {error.msg} (line {error.lineno}).") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise SSOConfigError(f"{variable} must be a JSON list of objects.")
    return value


def _require(item: dict[str, Any], keys: tuple[str, ...], variable: str) -> None:
    missing = [key for key in keys if not str(item.get(key) or "").strip()]
    if missing:
        raise SSOConfigError(f"{variable}: provider {item.get('id', '?')!r} lacks {', '.join(missing)}.")


def _oidc_app(
    *,
    provider_id: str,
    name: str,
    client_id: str,
    secret: str,
    server_url: str,
    email_domains: list[str],
    auth_params: dict[str, str] | None = None,
    variable: str,
) -> dict[str, Any]:
    url = server_url.strip().rstrip("/")
    if "login.microsoftonline.com" in url and any(part in url for part in MULTI_TENANT_ENTRA):
        raise SSOConfigError(
            f"{variable}: {provider_id!r} uses a multi-tenant Entra ID address ({url}). Use the city's tenant: "
            "https://login.microsoftonline.com/<tenant id>/v2.0"
        )
    settings: dict[str, Any] = {"server_url": url, "oauth_pkce_enabled": True}
    if email_domains:
        settings["email_domains"] = email_domains
        # allauth treats addresses in these domains as verified (Entra ID sends no email_verified).
        settings["verified_email"] = email_domains
    if auth_params:
        settings["auth_params"] = auth_params
    return {"provider_id": provider_id, "name": name, "client_id": client_id, "secret": secret, "settings": settings}


def oidc_apps(
    *,
    providers_json: str = "",
    entra: tuple[str, str, str] = ("", "", ""),
    google: tuple[str, str, str] = ("", "", ""),
    email_domains: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Returns allauth `openid_connect` APPS from CIVICPOST_OIDC_PROVIDERS (JSON list of
    {id, name, client_id, secret, server_url, email_domains}) plus the Entra ID (tenant, client id, secret)
    and Google Workspace (client id, secret, domain) shortcuts. Raises SSOConfigError when malformed."""
    default_domains = _domains(email_domains)
    apps = []
    for item in _json_list(providers_json, "CIVICPOST_OIDC_PROVIDERS"):
        _require(item, ("id", "client_id", "secret", "server_url"), "CIVICPOST_OIDC_PROVIDERS")
        apps.append(
            _oidc_app(
                provider_id=str(item["id"]),
                name=str(item.get("name") or item["id"]),
                client_id=str(item["client_id"]),
                secret=str(item["secret"]),
                server_url=str(item["server_url"]),
                email_domains=_domains(item.get("email_domains")) or default_domains,
                auth_params=item.get("auth_params"),
                variable="CIVICPOST_OIDC_PROVIDERS",
            )
        )
    tenant, client_id, secret = (value.strip() for value in entra)
    if any((tenant, client_id, secret)):
        if not all((tenant, client_id, secret)):
            raise SSOConfigError(
                "Microsoft Entra ID needs CIVICPOST_ENTRA_TENANT_ID, CIVICPOST_ENTRA_CLIENT_ID and "
                "CIVICPOST_ENTRA_CLIENT_SECRET together."
            )
        apps.append(
            _oidc_app(
                provider_id="entra",
                name="Microsoft",
                client_id=client_id,
                secret=secret,
                server_url=ENTRA_SERVER_URL.format(tenant=tenant),
                email_domains=default_domains,
                variable="CIVICPOST_ENTRA_TENANT_ID",
            )
        )
    client_id, secret, domain = (value.strip() for value in google)
    if any((client_id, secret)):
        if not all((client_id, secret, domain)):
            raise SSOConfigError(
                "Google Workspace needs CIVICPOST_GOOGLE_CLIENT_ID, CIVICPOST_GOOGLE_CLIENT_SECRET and "
                "CIVICPOST_GOOGLE_WORKSPACE_DOMAIN together."
            )
        apps.append(
            _oidc_app(
                provider_id="google",
                name="Google",
                client_id=client_id,
                secret=secret,
                server_url=GOOGLE_SERVER_URL,
                email_domains=_domains([domain, *default_domains]),
                # Google's account chooser shows only the city's Workspace accounts.
                auth_params={"hd": domain.lower()},
                variable="CIVICPOST_GOOGLE_CLIENT_ID",
            )
        )
    ids = [app["provider_id"] for app in apps]
    duplicates = sorted({pid for pid in ids if ids.count(pid) > 1})
    if duplicates:
        raise SSOConfigError(f"Two single sign-on providers share the id {', '.join(duplicates)}.")
    return apps


def saml_apps(*, providers_json: str = "", email_domains: list[str] | None = None) -> list[dict[str, Any]]:
    """Returns allauth `saml` APPS from CIVICPOST_SAML_PROVIDERS: a JSON list of
    {id (the URL slug), name, idp: {entity_id, metadata_url | sso_url + x509cert}, email_domains,
    attribute_mapping, sp, advanced} (allauth's SAML settings). Signed assertions are required unless
    `advanced` says otherwise. Raises SSOConfigError when malformed."""
    default_domains = _domains(email_domains)
    apps = []
    for item in _json_list(providers_json, "CIVICPOST_SAML_PROVIDERS"):
        _require(item, ("id",), "CIVICPOST_SAML_PROVIDERS")
        idp = item.get("idp")
        if not isinstance(idp, dict) or not idp.get("entity_id"):
            raise SSOConfigError(f"CIVICPOST_SAML_PROVIDERS: provider {item['id']!r} needs idp.entity_id.")
        if not idp.get("metadata_url") and not (idp.get("sso_url") and idp.get("x509cert")):
            raise SSOConfigError(
                f"CIVICPOST_SAML_PROVIDERS: provider {item['id']!r} needs idp.metadata_url, "
                "or idp.sso_url and idp.x509cert."
            )
        domains = _domains(item.get("email_domains")) or default_domains
        settings: dict[str, Any] = {
            "idp": idp,
            "advanced": {"want_assertion_signed": True, "strict": True, **(item.get("advanced") or {})},
        }
        for key in ("attribute_mapping", "sp", "use_nameid_for_email"):
            if key in item:
                settings[key] = item[key]
        if domains:
            settings["email_domains"] = domains
            settings["verified_email"] = domains
        apps.append(
            {
                "provider_id": str(idp["entity_id"]),
                "client_id": str(item["id"]),
                "name": str(item.get("name") or item["id"]),
                "settings": settings,
            }
        )
    return apps


def saml_available() -> bool:
    """python3-saml (and its xmlsec binding) is an optional dependency."""
    return importlib.util.find_spec("onelogin") is not None and importlib.util.find_spec("xmlsec") is not None


def sso_providers(
    *,
    oidc_json: str = "",
    saml_json: str = "",
    entra: tuple[str, str, str] = ("", "", ""),
    google: tuple[str, str, str] = ("", "", ""),
    email_domains: list[str] | None = None,
) -> dict[str, Any]:
    """Returns settings.SOCIALACCOUNT_PROVIDERS: only the configured provider types, each with its APPS."""
    providers: dict[str, Any] = {}
    oidc = oidc_apps(providers_json=oidc_json, entra=entra, google=google, email_domains=email_domains)
    if oidc:
        providers["openid_connect"] = {"APPS": oidc, "OAUTH_PKCE_ENABLED": True}
    saml = saml_apps(providers_json=saml_json, email_domains=email_domains)
    if saml:
        if not saml_available():
            raise SSOConfigError(
                "CIVICPOST_SAML_PROVIDERS is set but python3-saml is not installed: "
                "pip install 'python3-saml>=1.16' (it needs the xmlsec1 library)."
            )
        providers["saml"] = {"APPS": saml}
    return providers
