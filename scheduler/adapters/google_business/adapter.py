"""Google Business Profile: local posts ("updates") on one location per channel, and special hours.

ACCESS A CITY MUST OBTAIN. The Business Profile APIs are not open: the city (or whoever runs CivicPost)
must request access for its Google Cloud project with Google's "GBP API contact form"
(https://developers.google.com/my-business/content/prereqs), wait for approval, then enable the My
Business API (v4: local posts), My Business Business Information API and My Business Account Management
API. The OAuth app needs the sensitive scope business.manage (Google verifies the app before it can leave
"Testing"). The person who connects must be an owner or manager of the location. Until access is granted
every call answers 403; CivicPost was built against the documented shapes below and tested offline only.

Local posts https://developers.google.com/my-business/content/posts-data and
https://developers.google.com/my-business/reference/rest/v4/accounts.locations.localPosts
    POST   {v4}/accounts/{a}/locations/{l}/localPosts
           {"languageCode": "en", "summary": <text>, "topicType": "STANDARD" | "EVENT" | "OFFER",
            "callToAction": {"actionType": "LEARN_MORE", "url": <link>},            (not for OFFER)
            "event": {"title", "schedule": {"startDate", "startTime", "endDate", "endTime"}}, (EVENT, OFFER)
            "offer": {"couponCode", "redeemOnlineUrl", "termsConditions"},           (OFFER)
            "media": [{"mediaFormat": "PHOTO", "sourceUrl": <public URL>}]}
           -> the LocalPost: {"name": "accounts/{a}/locations/{l}/localPosts/{p}", "state": "LIVE" |
              "PROCESSING" | "REJECTED", "searchUrl": <link to the post in Search>, "createTime", …}
    GET    {v4}/accounts/{a}/locations/{l}/localPosts?pageSize=100 -> {"localPosts": [...], "nextPageToken"}
    DELETE {v4}/{name} -> {}
    Limits: summary 1,500 characters; photos JPG or PNG, 10 KB to 5 MB, at least 250 x 250 pixels; Google
    fetches sourceUrl, so it must be public. Phone numbers in a summary get a post rejected.
Locations (Business Information API v1,
https://developers.google.com/my-business/reference/businessinformation/rest/v1/accounts.locations/list)
    GET    {accounts host}/v1/accounts -> {"accounts": [{"name": "accounts/{a}", "accountName", "type"}]}
    GET    {info host}/v1/accounts/{a}/locations?readMask=name,title,storefrontAddress&pageSize=100
           -> {"locations": [{"name": "locations/{l}", "title", "storefrontAddress": {"addressLines"}}],
               "nextPageToken"}
    GET    {info host}/v1/locations/{l}?readMask=name,title                      (check_connection)
Special hours (https://developers.google.com/my-business/reference/businessinformation/rest/v1/
locations/patch and .../v1/locations#SpecialHourPeriod)
    PATCH  {info host}/v1/locations/{l}?updateMask=specialHours
           {"specialHours": {"specialHourPeriods": [{"startDate": {"year", "month", "day"}, "endDate": …,
             "closed": true} | {"startDate", "openTime": {"hours", "minutes"}, "closeTime": …}]}}
           The list REPLACES the location's special hours: send every period to keep.
Rate limits: 300 queries per minute per project (Business Information); local post edits are limited per
location (10 per minute, Google's quota page). Errors and their mapping: scheduler/adapters/google/client.py.
No idempotency key: an unclear create is reconciled by listing the location's posts (summary and
createTime). Metrics: the v4 insights were retired for the Performance API; none are read here.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, ClassVar

from django.utils import timezone

from scheduler.adapters.base import (
    AdapterError,
    ChannelAccount,
    ConnectionCheck,
    ImageLimits,
    OutcomeUnknown,
    PlatformAdapter,
    PostContent,
    Problem,
    PublishError,
    PublishResult,
    TextLength,
    parse_expires_at,
)
from scheduler.adapters.google.client import GoogleAPI, json_body
from scheduler.adapters.graph import RECONCILE_LOOKBACK, RECONCILE_MARGIN, not_found_yet
from scheduler.adapters.http import platform_base_url
from scheduler.adapters.media import is_image, media_url_for

POSTS_HOST = "https://mybusiness.googleapis.com"
INFO_HOST = "https://mybusinessbusinessinformation.googleapis.com"
ACCOUNTS_HOST = "https://mybusinessaccountmanagement.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/business.manage",)

SUMMARY_LIMIT = 1500
MAX_PHOTOS = 1
PHOTO_TYPES = ("image/jpeg", "image/png")
MAX_PHOTO_BYTES = 5 * 1024 * 1024
TOPIC_TYPES = ("STANDARD", "EVENT", "OFFER")
RECONCILE_PAGE_SIZE = 100
RECONCILE_MAX_PAGES = 5
RECONCILE_SETTLE_SECONDS = 120.0
LABEL = "Google Business Profile"


def posts_url() -> str:
    return f"{platform_base_url('google_business', POSTS_HOST)}/v4"


def info_url() -> str:
    return f"{platform_base_url('google_business_information', INFO_HOST)}/v1"


def accounts_url() -> str:
    return f"{platform_base_url('google_business_accounts', ACCOUNTS_HOST)}/v1"


def _date(value: dt.date) -> dict[str, int]:
    return {"year": value.year, "month": value.month, "day": value.day}


def _time(value: dt.time) -> dict[str, int]:
    return {"hours": value.hour, "minutes": value.minute, "seconds": 0, "nanos": 0}


@dataclass(frozen=True)
class LocalPostEvent:
    """What an EVENT or OFFER post shows as its title and dates (local wall time of the location)."""

    title: str
    start: dt.datetime
    end: dt.datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "schedule": {
                "startDate": _date(self.start.date()),
                "startTime": _time(self.start.time()),
                "endDate": _date(self.end.date()),
                "endTime": _time(self.end.time()),
            },
        }


@dataclass(frozen=True)
class SpecialHourPeriod:
    """One day whose hours differ from the regular ones: closed all day, or open from `opens` to `closes`."""

    start_date: dt.date
    closed: bool = True
    end_date: dt.date | None = None
    opens: dt.time | None = None
    closes: dt.time | None = None

    def as_json(self) -> dict[str, Any]:
        period: dict[str, Any] = {"startDate": _date(self.start_date)}
        if self.end_date is not None:
            period["endDate"] = _date(self.end_date)
        if self.closed:
            period["closed"] = True
            return period
        if self.opens is None or self.closes is None:
            raise ValueError("An open special-hours day needs its opening and closing time.")
        period["openTime"] = {"hours": self.opens.hour, "minutes": self.opens.minute}
        period["closeTime"] = {"hours": self.closes.hour, "minutes": self.closes.minute}
        return period


def local_post_body(
    content: PostContent,
    *,
    topic_type: str = "STANDARD",
    photo_url: str = "",
    event: LocalPostEvent | None = None,
    coupon_code: str = "",
    terms: str = "",
) -> dict[str, Any]:
    """Returns the documented LocalPost JSON for `content`. EVENT and OFFER need `event`."""
    if topic_type not in TOPIC_TYPES:
        raise ValueError(f"Unknown topic type {topic_type!r}.")
    body: dict[str, Any] = {"languageCode": content.language or "en", "summary": content.text, "topicType": topic_type}
    if topic_type in ("EVENT", "OFFER"):
        if event is None:
            raise ValueError(f"A {topic_type} post needs a title and dates.")
        body["event"] = event.as_json()
    if topic_type == "OFFER":
        offer = {"couponCode": coupon_code, "redeemOnlineUrl": content.link, "termsConditions": terms}
        body["offer"] = {key: value for key, value in offer.items() if value}
    elif content.link:
        body["callToAction"] = {"actionType": "LEARN_MORE", "url": content.link}
    if photo_url:
        body["media"] = [{"mediaFormat": "PHOTO", "sourceUrl": photo_url}]
    return body


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


class GoogleBusinessAdapter(PlatformAdapter):
    platform = "google_business"
    label = LABEL
    max_media = MAX_PHOTOS
    requires_alt_text = True
    supports_metrics = False
    image_limits = ImageLimits(max_bytes=MAX_PHOTO_BYTES, mime_types=PHOTO_TYPES)
    reconcile_settle_seconds: ClassVar[float] = RECONCILE_SETTLE_SECONDS

    def __init__(self, account: ChannelAccount) -> None:
        super().__init__(account)
        self.api = GoogleAPI(self, label=LABEL)

    @property
    def location_path(self) -> str:
        """accounts/{a}/locations/{l}, the v4 parent of the location's posts."""
        options = self.account.options
        return f"accounts/{options.get('account_id', '')}/locations/{options.get('location_id', '')}"

    def text_length(self, content: PostContent) -> TextLength:
        return TextLength(used=len(content.text), limit=SUMMARY_LIMIT)

    def validate(self, content: PostContent) -> list[Problem]:
        problems = super().validate(content)
        if not content.text.strip():
            problems.append(Problem("Write the text of the update."))
        if any(not is_image(item) for item in content.media):
            problems.append(
                Problem("Google Business Profile updates from CivicPost take one photo, not video.", "media")
            )
        if any(not item.url.startswith("https://") for item in content.media):
            problems.append(Problem("Google fetches photos from a public https:// address.", "media"))
        if content.link and not content.link.startswith(("https://", "http://")):
            problems.append(Problem("The link must be a web address (https://…).", "link"))
        return problems

    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        """Creates a STANDARD local post with a LEARN MORE button for the link. Returns its resource name
        and the searchUrl. Raises PublishError(permanent) when Google rejects it outright."""
        photo_url = ""
        if content.media:
            photo_url = media_url_for(content.media[0], self.image_limits, platform=self.platform, label=self.label)
        body = local_post_body(content, photo_url=photo_url)
        response = self.api.request("POST", f"{posts_url()}/{self.location_path}/localPosts", json=body, creates=True)
        post = json_body(response)
        name = str(post.get("name") or "")
        if not name:
            raise OutcomeUnknown("Google answered without the post's name; checking the location's posts.", raw=post)
        if post.get("state") == "REJECTED":
            raise PublishError(
                "Google rejected the update (its content policy: phone numbers, links or wording in the text).",
                permanent=True,
                code="google_business_rejected",
                raw=post,
            )
        return PublishResult(remote_id=name, permalink=str(post.get("searchUrl") or ""), raw=post)

    def reconcile(
        self,
        content: PostContent,
        *,
        idempotency_key: str,
        sent_at: dt.datetime,
        first_sent_at: dt.datetime | None = None,
    ) -> PublishResult | None:
        """Looks for our summary among the location's posts created since shortly before the send.

        Returns the post; None once the settle time has passed and every page was read; raises
        CheckAgainLater before that, OutcomeUnknown when Google cannot be read or has too many pages."""
        since = (first_sent_at or sent_at) - RECONCILE_LOOKBACK
        until = sent_at + RECONCILE_MARGIN
        expected = _normalise(content.text)
        token = ""
        for _page in range(RECONCILE_MAX_PAGES):
            params: dict[str, Any] = {"pageSize": RECONCILE_PAGE_SIZE}
            if token:
                params["pageToken"] = token
            try:
                body = json_body(
                    self.api.request("GET", f"{posts_url()}/{self.location_path}/localPosts", params=params)
                )
            except AdapterError as error:
                raise OutcomeUnknown(
                    f"Could not check Google for the update: {error.message}", raw=error.raw
                ) from error
            for post in body.get("localPosts") or []:
                created = parse_expires_at(post.get("createTime"))
                if created and since <= created <= until and _normalise(str(post.get("summary") or "")) == expected:
                    return PublishResult(
                        remote_id=str(post["name"]), permalink=str(post.get("searchUrl") or ""), raw=dict(post)
                    )
            token = str(body.get("nextPageToken") or "")
            if not token:
                break
        else:
            raise OutcomeUnknown(
                "The location has more updates than CivicPost reads and ours is not among them: sent, but not "
                "confirmed — check the profile before posting again.",
                code="reconcile_window_too_busy",
            )
        not_found_yet(label=LABEL, sent_at=sent_at, now=timezone.now(), settle_seconds=self.reconcile_settle_seconds)
        return None

    def delete(self, remote_id: str, *, post_id: int | None = None) -> None:
        self.api.request("DELETE", f"{posts_url()}/{remote_id}", ok=(404,))

    def check_connection(self) -> ConnectionCheck:
        location_id = self.account.options.get("location_id", "")
        try:
            body = json_body(
                self.api.request("GET", f"{info_url()}/locations/{location_id}", params={"readMask": "name,title"})
            )
        except AdapterError as error:
            return ConnectionCheck(ok=False, message=error.message)
        return ConnectionCheck(ok=True, message=f"Connected to {body.get('title') or self.account.display_name}.")

    def set_special_hours(self, periods: list[SpecialHourPeriod]) -> dict[str, Any]:
        """Replaces the location's special hours (closures, shorter days) with `periods`. Returns the updated
        location. Raises AdapterError. Not called by publishing or any page yet (a later session's UI)."""
        location_id = self.account.options.get("location_id", "")
        body = {"specialHours": {"specialHourPeriods": [period.as_json() for period in periods]}}
        response = self.api.request(
            "PATCH", f"{info_url()}/locations/{location_id}", params={"updateMask": "specialHours"}, json=body
        )
        return json_body(response)


# --- Connecting (used by connect.py) --------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    account_id: str
    location_id: str
    title: str
    address: str = ""

    @property
    def choice_id(self) -> str:
        return f"accounts/{self.account_id}/locations/{self.location_id}"


def list_locations(*, credentials: dict[str, Any], max_pages: int = 10) -> list[Location]:
    """Returns every location of every account the person can manage. Raises AdapterError."""
    adapter = GoogleBusinessAdapter(ChannelAccount(channel_id=0, display_name="", credentials=credentials))
    accounts = json_body(adapter.api.request("GET", f"{accounts_url()}/accounts")).get("accounts") or []
    locations: list[Location] = []
    for account in accounts:
        account_name = str(account.get("name") or "")
        token = ""
        for _page in range(max_pages):
            params: dict[str, Any] = {"readMask": "name,title,storefrontAddress", "pageSize": 100}
            if token:
                params["pageToken"] = token
            body = json_body(adapter.api.request("GET", f"{info_url()}/{account_name}/locations", params=params))
            for item in body.get("locations") or []:
                address = ", ".join((item.get("storefrontAddress") or {}).get("addressLines") or [])
                locations.append(
                    Location(
                        account_id=account_name.rsplit("/", 1)[-1],
                        location_id=str(item.get("name") or "").rsplit("/", 1)[-1],
                        title=str(item.get("title") or ""),
                        address=address,
                    )
                )
            token = str(body.get("nextPageToken") or "")
            if not token:
                break
    return locations
