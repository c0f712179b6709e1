"""The e-mail services an e-mail bulletin channel sends through, one class each, behind `BulletinService`.

Every service is asked the same four things: send one bulletin (creating it, then sending it), find the bulletin
a delivery made (by the marker CivicPost writes into it), describe the list for the connection check, and
nothing else. None of the three offers an idempotency key for sending, so exactly-once rests on the marker:
`civicpost:<delivery idempotency key>` in a field only the city's staff see.

Granicus GovDelivery — Communications Cloud API v1 ("Create and Send Bulletin", https://developer.govdelivery.com/
api_docs/comm_cloud_v1/ ; access: an administrator login of the city's GovDelivery account with API access, which
Granicus enables on request; Basic auth). Shapes below as used by public clients (alphagov/email-alert-api,
louisville-metro, DfE) [3p]:
    POST {host}/api/account/{ACCOUNT}/bulletins/send_now.xml   Content-Type: application/xml
      <bulletin><subject/><body/><sms_body nil="true"/><publish_rss type="boolean">false</publish_rss>
        <open_tracking type="boolean">true</open_tracking><click_tracking type="boolean">true</click_tracking>
        <share_content_enabled type="boolean">true</share_content_enabled>
        <topics type="array"><topic><code>TOPIC</code></topic></topics><categories type="array"/></bulletin>
      -> 200 <bulletin><to-param>7895129</to-param><bulletin-uri>/api/account/X/bulletins/7895129.xml</bulletin-uri>
             <link rel="self" href="..."/><total-subscribers>2</total-subscribers></bulletin>
    GET .../bulletins/sent.xml -> <bulletins><bulletin><subject/><bulletin-uri/><to-param/></bulletin>...</bulletins>
        (newest first)
    GET .../bulletins/{id}.xml -> <bulletin><subject/><body/>...</bulletin>
    GET .../topics/{CODE}.xml  -> <topic><code/><name/>...</topic>
    errors: <errors><code>GD-12015</code><error>Resource not available.</error></errors>; 401 bad login.
    Hosts: https://api.govdelivery.com (production), https://stage-api.govdelivery.com (staging).
  Later (emergency posts): the same bulletin XML takes <urgent>true</urgent> (seen in alphagov's client), to be
  sent when the emergency-post channel is built.
  Marker: an HTML comment at the top of the body. Reconcile reads the newest sent bulletins, opens those with our
  subject and looks for the marker. The list carries no send times, so absence is concluded from the newest
  RECONCILE_SCAN bulletins once the settle time has passed [assumption: a city sends fewer bulletins than that in
  the few minutes between the send and the check].

Mailchimp — Marketing API 3.0 (https://mailchimp.com/developer/marketing/api/campaigns/ ; access: any Mailchimp
account's API key, Account > Extras > API keys; the key ends in the data centre: "...-us6" ->
https://us6.api.mailchimp.com/3.0; Basic auth with any user name and the key) [docs]:
    POST /3.0/campaigns {"type": "regular", "recipients": {"list_id"}, "settings": {"subject_line", "title",
      "from_name", "reply_to"}} -> 200 {"id", "web_id", "status": "save", "archive_url", "settings", ...}
    PUT  /3.0/campaigns/{id}/content {"html", "plain_text"} -> 200
    POST /3.0/campaigns/{id}/actions/send -> 204 (status becomes "sending", then "sent")
    GET  /3.0/campaigns?list_id&since_create_time&sort_field=create_time&sort_dir=DESC&count -> {"campaigns": [...]}
    GET  /3.0/lists/{list_id} -> {"id", "name", "stats": {"member_count"}}
    errors: application/problem+json {"type", "title", "status", "detail", "instance"}; 401 API key invalid,
    403 forbidden / user disabled, 400 invalid resource (also "not ready to send"), 404, 429 too many requests
    (at most 10 simultaneous connections), 5xx. Subject lines up to 150 characters.
  Marker: the campaign's internal title. publish looks for it first and finishes a campaign a dropped answer left
  as a draft ("save") instead of creating a second one.

Listmonk (self-hosted, https://listmonk.app/docs/apis/campaigns/ ; access: an API user made under Admin > Users,
Basic auth api_user:token) [docs]:
    POST /api/campaigns {"name", "subject", "lists": [id], "type": "regular", "content_type": "html", "body",
      "altbody", "messenger": "email"} -> 200 {"data": {"id", "uuid", "name", "status": "draft", ...}}
    PUT  /api/campaigns/{id}/status {"status": "running"} -> 200 {"data": {... "status": "running"}}
    GET  /api/campaigns?query=<text>&per_page=.. -> {"data": {"results": [...], "total", "page", "per_page"}}
    GET  /api/lists/{id} -> {"data": {"id", "name", "subscriber_count"}}
    errors: {"message": "..."} with 400 (invalid fields), 403 (permission), 404, 5xx. No rate limit of its own.
  The address is the city's own server: it passes the SSRF guard when connecting and on every call.
  Marker: the campaign's internal name; a draft left behind is started instead of creating another.

Error mapping, all three: 401 -> AuthExpired; 403 -> AuthExpired (the login lost the right to send); 429 ->
RateLimited; other 4xx -> PublishError(permanent) with the service's words; connection never opened ->
PublishError(temporary); a timeout, reset or 5xx on a call that creates or sends -> OutcomeUnknown (reconciled
by the marker); on a read -> temporary PublishError.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET  # noqa: S405  # nosec B405
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from scheduler.adapters.base import AuthExpired, OutcomeUnknown, PublishError, RateLimited
from scheduler.adapters.http import http_session, platform_base_url, request_never_sent
from scheduler.adapters.ssrf import UnsafeURL, check_public_url, guarded_session

GOVDELIVERY_HOSTS = {"production": "https://api.govdelivery.com", "staging": "https://stage-api.govdelivery.com"}
RECONCILE_SCAN = 20
DEFAULT_WAIT = 30.0
_DATA_CENTRE = re.compile(r"^[a-z]{2,5}[0-9]{1,3}$")


@dataclass(frozen=True)
class Bulletin:
    """One e-mail as every service receives it."""

    subject: str
    html: str
    text: str
    marker: str
    title: str  # the internal name staff see in the service (carries the marker where the service has one)


@dataclass(frozen=True)
class Found:
    remote_id: str
    permalink: str
    sent: bool  # False: a draft a dropped answer left behind
    raw: dict[str, Any]


class BulletinService(Protocol):
    label: str
    resumes_drafts: bool

    def send(self, bulletin: Bulletin, *, draft: Found | None) -> Found: ...

    def find(self, bulletin: Bulletin, *, since: dt.datetime) -> Found | None: ...

    def describe(self) -> str: ...


# --- HTTP ---------------------------------------------------------------------------------------------


def _short(response: requests.Response) -> str:
    return response.text[:300].strip()


def _wait(response: requests.Response) -> float:
    value = (response.headers.get("Retry-After") or "").strip()
    return float(value) if value.isdigit() else DEFAULT_WAIT


def request(
    label: str,
    session: requests.Session,
    method: str,
    url: str,
    *,
    writes: bool,
    describe_error: Any = _short,
    **kwargs: Any,
) -> requests.Response:
    """Sends one call and maps failures. `writes`: the call creates or sends, so an unclear end is unknown."""
    try:
        response = session.request(method, url, allow_redirects=False, **kwargs)
    except UnsafeURL as error:
        raise AuthExpired(f"CivicPost will not connect to this {label} address: {error.message}") from error
    except requests.RequestException as error:
        name = type(error).__name__
        if request_never_sent(error):
            raise PublishError(f"Could not connect to {label} ({name}); nothing was sent.", permanent=False) from error
        if writes:
            raise OutcomeUnknown(f"{label} did not answer in time ({name}); checking before sending again.") from error
        raise PublishError(f"The connection to {label} failed ({name}).", permanent=False) from error
    status = response.status_code
    if 200 <= status < 300:
        return response
    raw = {"status": status, "body": _short(response)}
    words = describe_error(response)
    if status == 401:
        raise AuthExpired(
            f"{label} no longer accepts the login CivicPost has; a department admin must reconnect the channel.",
            code="email_401",
            raw=raw,
        )
    if status == 403:
        raise AuthExpired(f"{label} refused the permission to do this: {words}", code="email_403", raw=raw)
    if status == 429:
        raise RateLimited(f"{label} asked us to slow down.", retry_after=_wait(response), code="email_429", raw=raw)
    if status >= 500:
        if writes:
            raise OutcomeUnknown(f"{label} answered with a server error (HTTP {status}); checking first.", raw=raw)
        raise PublishError(f"{label} answered with a server error (HTTP {status}).", permanent=False, raw=raw)
    if 300 <= status < 400:
        raise PublishError(f"{label} redirected the call elsewhere; check the address.", permanent=True, raw=raw)
    raise PublishError(f"{label} refused the bulletin: {words}", permanent=True, code=f"email_{status}", raw=raw)


# --- Granicus GovDelivery -------------------------------------------------------------------------------


def _xml(response: requests.Response) -> ET.Element:
    text = response.text
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        # No document type or entity in a GovDelivery answer: refuse them rather than expand anything.
        raise PublishError("GovDelivery sent an answer CivicPost will not read.", permanent=False)
    try:
        return ET.fromstring(text)  # noqa: S314  # nosec B314
    except ET.ParseError as error:
        raise PublishError("GovDelivery sent an answer CivicPost could not read.", permanent=False) from error


def _govdelivery_error(response: requests.Response) -> str:
    try:
        root = _xml(response)
    except PublishError:
        return _short(response)
    code, message = root.findtext("code") or "", root.findtext("error") or ""
    return f"{message} ({code})" if code else (message or _short(response))


class GovDelivery:
    label = "GovDelivery"
    resumes_drafts = False

    def __init__(self, *, environment: str, account_code: str, username: str, password: str, topic: str) -> None:
        host = GOVDELIVERY_HOSTS.get(environment, GOVDELIVERY_HOSTS["production"])
        self.base = f"{platform_base_url('govdelivery', host)}/api/account/{account_code}"
        self.auth = (username, password)
        self.topic = topic

    def _call(self, method: str, path: str, *, writes: bool = False, **kwargs: Any) -> requests.Response:
        session = http_session()
        try:
            return request(
                self.label,
                session,
                method,
                f"{self.base}{path}",
                writes=writes,
                auth=self.auth,
                describe_error=_govdelivery_error,
                **kwargs,
            )
        finally:
            session.close()

    def bulletin_xml(self, bulletin: Bulletin) -> bytes:
        root = ET.Element("bulletin")
        ET.SubElement(root, "subject").text = bulletin.subject
        ET.SubElement(root, "body").text = bulletin.html
        ET.SubElement(root, "sms_body", {"nil": "true"})
        for name, value in (
            ("publish_rss", "false"),
            ("open_tracking", "true"),
            ("click_tracking", "true"),
            ("share_content_enabled", "true"),
        ):
            ET.SubElement(root, name, {"type": "boolean"}).text = value
        topics = ET.SubElement(root, "topics", {"type": "array"})
        ET.SubElement(ET.SubElement(topics, "topic"), "code").text = self.topic
        ET.SubElement(root, "categories", {"type": "array"})
        body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body

    def send(self, bulletin: Bulletin, *, draft: Found | None) -> Found:
        response = self._call(
            "POST",
            "/bulletins/send_now.xml",
            writes=True,
            data=self.bulletin_xml(bulletin),
            headers={"Content-Type": "application/xml", "Accept": "application/xml"},
        )
        root = _xml(response)
        remote_id = root.findtext("to-param") or ""
        if not remote_id:
            raise OutcomeUnknown("GovDelivery answered without the bulletin's number; checking first.")
        return Found(
            remote_id=remote_id,
            permalink="",
            sent=True,
            raw={"to_param": remote_id, "total_subscribers": root.findtext("total-subscribers") or ""},
        )

    def find(self, bulletin: Bulletin, *, since: dt.datetime) -> Found | None:
        root = _xml(self._call("GET", "/bulletins/sent.xml", headers={"Accept": "application/xml"}))
        for item in root.findall("bulletin")[:RECONCILE_SCAN]:
            remote_id = item.findtext("to-param") or ""
            if not remote_id or (item.findtext("subject") or "").strip() != bulletin.subject.strip():
                continue
            detail = _xml(self._call("GET", f"/bulletins/{remote_id}.xml", headers={"Accept": "application/xml"}))
            if bulletin.marker in (detail.findtext("body") or ""):
                return Found(remote_id=remote_id, permalink="", sent=True, raw={"to_param": remote_id})
        return None

    def describe(self) -> str:
        root = _xml(self._call("GET", f"/topics/{self.topic}.xml", headers={"Accept": "application/xml"}))
        return f"GovDelivery topic “{root.findtext('name') or self.topic}”"


# --- Mailchimp ------------------------------------------------------------------------------------------


def mailchimp_data_centre(api_key: str) -> str:
    """The data centre at the end of a Mailchimp API key ("...-us6" -> "us6"). Raises ValueError."""
    centre = api_key.rsplit("-", 1)[-1] if "-" in api_key else ""
    if not _DATA_CENTRE.match(centre):
        raise ValueError("A Mailchimp API key ends with its data centre, like -us6.")
    return centre


def _problem(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return _short(response)
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or _short(response))[:300]
    return _short(response)


MAILCHIMP_SENT = {"sending", "sent", "schedule", "canceling", "canceled", "archived"}


class Mailchimp:
    label = "Mailchimp"
    resumes_drafts = True

    def __init__(self, *, api_key: str, list_id: str, from_name: str, reply_to: str) -> None:
        centre = mailchimp_data_centre(api_key)
        self.base = f"{platform_base_url('mailchimp', f'https://{centre}.api.mailchimp.com')}/3.0"
        self.auth = ("civicpost", api_key)
        self.list_id = list_id
        self.from_name = from_name
        self.reply_to = reply_to

    def _call(self, method: str, path: str, *, writes: bool = False, **kwargs: Any) -> requests.Response:
        session = http_session()
        try:
            return request(
                self.label, session, method, f"{self.base}{path}", writes=writes, auth=self.auth,
                describe_error=_problem, **kwargs,
            )  # fmt: skip
        finally:
            session.close()

    @staticmethod
    def _found(campaign: dict[str, Any]) -> Found:
        return Found(
            remote_id=str(campaign["id"]),
            permalink=str(campaign.get("archive_url") or ""),
            sent=str(campaign.get("status")) in MAILCHIMP_SENT,
            raw={"id": campaign["id"], "web_id": campaign.get("web_id"), "status": campaign.get("status")},
        )

    def send(self, bulletin: Bulletin, *, draft: Found | None) -> Found:
        if draft is None:
            created = self._call(
                "POST",
                "/campaigns",
                writes=True,
                json={
                    "type": "regular",
                    "recipients": {"list_id": self.list_id},
                    "settings": {
                        "subject_line": bulletin.subject,
                        "title": bulletin.title,
                        "from_name": self.from_name,
                        "reply_to": self.reply_to,
                    },
                },
            ).json()
            draft = self._found(created)
        self._call(
            "PUT",
            f"/campaigns/{draft.remote_id}/content",
            writes=True,
            json={"html": bulletin.html, "plain_text": bulletin.text},
        )
        self._call("POST", f"/campaigns/{draft.remote_id}/actions/send", writes=True)
        return Found(
            remote_id=draft.remote_id, permalink=draft.permalink, sent=True, raw={**draft.raw, "status": "sending"}
        )

    def find(self, bulletin: Bulletin, *, since: dt.datetime) -> Found | None:
        params = {
            "list_id": self.list_id,
            "since_create_time": since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "sort_field": "create_time",
            "sort_dir": "DESC",
            "count": "1000",
        }
        campaigns = self._call("GET", "/campaigns", params=params).json().get("campaigns") or []
        for campaign in campaigns:
            if bulletin.marker in str((campaign.get("settings") or {}).get("title") or ""):
                return self._found(campaign)
        return None

    def describe(self) -> str:
        audience = self._call("GET", f"/lists/{self.list_id}").json()
        count = (audience.get("stats") or {}).get("member_count")
        return f"Mailchimp audience “{audience.get('name', self.list_id)}”" + (
            f" ({count} subscribers)" if count is not None else ""
        )


# --- Listmonk -------------------------------------------------------------------------------------------


def _listmonk_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return _short(response)
    return str(body.get("message") or _short(response))[:300] if isinstance(body, dict) else _short(response)


LISTMONK_SENT = {"running", "scheduled", "paused", "finished", "cancelled"}


class Listmonk:
    label = "Listmonk"
    resumes_drafts = True

    def __init__(self, *, server_url: str, username: str, token: str, list_id: str) -> None:
        self.server_url = server_url.rstrip("/")
        self.auth = (username, token)
        self.list_id = list_id

    def _call(self, method: str, path: str, *, writes: bool = False, **kwargs: Any) -> requests.Response:
        try:
            base = check_public_url(self.server_url).rstrip("/")
        except UnsafeURL as error:
            raise AuthExpired(f"CivicPost will not connect to this Listmonk address: {error.message}") from error
        session = guarded_session()
        try:
            return request(
                self.label, session, method, f"{base}{path}", writes=writes, auth=self.auth,
                describe_error=_listmonk_message, **kwargs,
            )  # fmt: skip
        finally:
            session.close()

    def _found(self, campaign: dict[str, Any]) -> Found:
        uuid = str(campaign.get("uuid") or "")
        return Found(
            remote_id=str(campaign["id"]),
            permalink=f"{self.server_url}/campaign/{uuid}" if uuid and campaign.get("archive") else "",
            sent=str(campaign.get("status")) in LISTMONK_SENT,
            raw={"id": campaign["id"], "uuid": uuid, "status": campaign.get("status")},
        )

    def send(self, bulletin: Bulletin, *, draft: Found | None) -> Found:
        if draft is None:
            created = self._call(
                "POST",
                "/api/campaigns",
                writes=True,
                json={
                    "name": bulletin.title,
                    "subject": bulletin.subject,
                    "lists": [int(self.list_id)],
                    "type": "regular",
                    "content_type": "html",
                    "body": bulletin.html,
                    "altbody": bulletin.text,
                    "messenger": "email",
                },
            ).json()
            draft = self._found(created["data"])
        started = self._call("PUT", f"/api/campaigns/{draft.remote_id}/status", writes=True, json={"status": "running"})
        data = (started.json() or {}).get("data") or {}
        return Found(
            remote_id=draft.remote_id,
            permalink=draft.permalink,
            sent=True,
            raw={**draft.raw, "status": data.get("status", "running")},
        )

    def find(self, bulletin: Bulletin, *, since: dt.datetime) -> Found | None:
        body = self._call("GET", "/api/campaigns", params={"query": bulletin.marker, "per_page": "50"}).json()
        for campaign in ((body or {}).get("data") or {}).get("results") or []:
            if bulletin.marker in str(campaign.get("name") or ""):
                return self._found(campaign)
        return None

    def describe(self) -> str:
        data = (self._call("GET", f"/api/lists/{self.list_id}").json() or {}).get("data") or {}
        count = data.get("subscriber_count")
        return f"Listmonk list “{data.get('name', self.list_id)}”" + (
            f" ({count} subscribers)" if count is not None else ""
        )


SERVICES = ("govdelivery", "mailchimp", "listmonk")


def service_for(credentials: dict[str, Any], options: dict[str, Any]) -> BulletinService:
    """Builds the channel's service. Raises AuthExpired when the stored configuration is incomplete."""
    kind = str(options.get("service") or "")
    try:
        if kind == "govdelivery":
            return GovDelivery(
                environment=str(options.get("environment") or "production"),
                account_code=str(options["account_code"]),
                username=str(credentials["username"]),
                password=str(credentials["secret"]),
                topic=str(options["audience"]),
            )
        if kind == "mailchimp":
            return Mailchimp(
                api_key=str(credentials["secret"]),
                list_id=str(options["audience"]),
                from_name=str(options.get("from_name") or ""),
                reply_to=str(options.get("reply_to") or ""),
            )
        if kind == "listmonk":
            return Listmonk(
                server_url=str(options["server_url"]),
                username=str(credentials["username"]),
                token=str(credentials["secret"]),
                list_id=str(options["audience"]),
            )
    except (KeyError, ValueError) as error:
        raise AuthExpired(
            "This e-mail bulletin channel is not fully set up; a department admin must reconnect it."
        ) from error
    raise AuthExpired("This e-mail bulletin channel names no e-mail service; a department admin must reconnect it.")
