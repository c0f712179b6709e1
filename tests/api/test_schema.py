"""The committed OpenAPI schema (docs/openapi.yaml) matches the code, and /api/docs/ serves Swagger UI from
CivicPost's own static files, for signed-in people only, within the site's CSP."""

from __future__ import annotations

import difflib
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

SCHEMA = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"


def test_the_committed_openapi_schema_matches_the_code(tmp_path):
    fresh = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(fresh))
    committed = SCHEMA.read_text() if SCHEMA.exists() else ""
    if fresh.read_text() != committed:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(True), fresh.read_text().splitlines(True), "committed", "code"
                )
            )[:60]
        )
        raise AssertionError(f"docs/openapi.yaml is out of date with the API: run `make schema` and commit it.\n{diff}")


def test_the_schema_never_describes_channel_credentials():
    import yaml

    channel = yaml.safe_load(SCHEMA.read_text())["components"]["schemas"]["Channel"]
    assert "credentials" not in channel["properties"] and "options" not in channel["properties"]


def test_the_docs_are_for_signed_in_people_and_use_no_cdn(city, client):
    anonymous = client.get("/api/docs/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(city.alice)
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert "<style" not in html and "<script>" not in html  # nothing inline: the CSP allows only files
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
    csp = page["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200 and b"/api/v1/posts/" in schema.content
