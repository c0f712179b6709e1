"""schemathesis against the committed schema (docs/openapi.yaml), on PostgreSQL: every operation, a bounded
number of generated requests each (MAX_EXAMPLES, derandomized so CI is repeatable), sent in-process to the
WSGI application with a token that has every scope. 0 server errors and 0 schema violations: the checks are
not_a_server_error, response_schema_conformance, status_code_conformance and content_type_conformance.

The world is the permission tests' city (posts in each state, channels, media), so the generated ids hit real
objects as well as missing ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import token_for
from tests.governance.city import City
from tests.scheduler import approved_post, draft_post, submitted_post

SCHEMA = schemathesis.openapi.from_path(Path(settings.BASE_DIR) / "docs" / "openapi.yaml")
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
MAX_EXAMPLES = 12

pytestmark = [pytest.mark.postgres]


@pytest.fixture(scope="module")
def app():  # noqa: ANN201
    return get_wsgi_application()


@pytest.fixture
def world_token(db: None, settings) -> str:  # noqa: ANN001
    """A token of the Parks admin (every scope) in a city with posts in each state."""
    settings.CIVICPOST_API_RATE_LIMIT = "100000/min"  # the generated burst is not what rate limits are for
    # The WSGI handler would close the test's connection (and its transaction) after each request: the test
    # client does the same disconnect.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    city = City()
    draft_post(author=city.alice, channels=[city.parks_channel])
    submitted_post(author=city.alice, channels=[city.parks_channel])
    approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    yield token_for(city.pat)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@SCHEMA.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_the_committed_schema(case, app, world_token):  # noqa: ANN001
    response = case.call(app=app, headers={"Authorization": f"Bearer {world_token}"})
    case.validate_response(response, checks=CHECKS)
