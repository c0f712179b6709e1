"""The account-pick step names the platform being connected (LinkedIn, Google Business Profile, YouTube use it
as well as Facebook and Instagram): a neutral heading, never "Facebook" for another platform."""

from __future__ import annotations

import pytest
import responses

from tests.connections import query_of, test_new_channel_flows
from tests.connections.test_new_channel_flows import LI_API, callback, connect_url, fixture

pytestmark = pytest.mark.django_db

new_app_keys = test_new_channel_flows.new_app_keys


@responses.activate
def test_the_linkedin_pick_page_says_linkedin_not_facebook(people, client, new_app_keys):
    client.force_login(people.ada)
    authorize = client.post(connect_url(people.parks, "linkedin"), {})["Location"]
    responses.post("https://www.linkedin.com/oauth/v2/accessToken", json=fixture("linkedin", "token"))
    responses.get(f"{LI_API}/rest/organizationAcls", json=fixture("linkedin", "org_acls"))
    responses.get(f"{LI_API}/rest/organizations/2414183", json=fixture("linkedin", "organization_2414183"))
    responses.get(f"{LI_API}/rest/organizations/5583111", json=fixture("linkedin", "organization_5583111"))
    pick_url = callback(client, "linkedin", code="li-code", state=query_of(authorize)["state"])["Location"]

    html = client.get(pick_url).content.decode()

    assert "<h1>Choose the LinkedIn Page account</h1>" in html
    assert "Facebook" not in html
