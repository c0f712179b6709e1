"""LinkedIn Page (organisation) posts through LinkedIn's versioned REST API, with plain requests (LinkedIn's
own client, linkedin-api-client 0.3.0, last released 2023: shared/platforms.md §8.3).

ACCESS A CITY MUST OBTAIN. Posting as an organisation needs the **Community Management API** product on
the city's LinkedIn developer app; LinkedIn grants it on application (the app's organisation must be
verified; the Development tier first, Standard tier after review). The member who connects must hold the
ADMINISTRATOR or CONTENT_ADMINISTRATOR role ("content admin") on the Page. Programmatic refresh tokens are
only issued to approved partners; otherwise the access token lives 60 days and an admin reconnects.
CivicPost was built against the documented shapes below and tested against a local fake only.

Every call to {base}/rest/ carries (https://learn.microsoft.com/en-us/linkedin/marketing/versioning):
    Authorization: Bearer <member token>
    LinkedIn-Version: YYYYMM        CIVICPOST_LINKEDIN_API_VERSION; a sunset version answers HTTP 426
    X-Restli-Protocol-Version: 2.0.0
URNs in paths are URL-encoded (urn%3Ali%3Ashare%3A123).

Posts API https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api
    POST   /rest/posts  {"author": "urn:li:organization:<id>", "commentary": <little text>, "visibility":
           "PUBLIC", "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
           "thirdPartyDistributionChannels": []}, "lifecycleState": "PUBLISHED",
           "isReshareDisabledByAuthor": false, "content": {...}}
           -> 201, empty body, the post URN in the `x-restli-id` header (urn:li:share:… or urn:li:ugcPost:…)
           content: one image {"media": {"id": "urn:li:image:…", "altText": …}}
                    2-20 images {"multiImage": {"images": [{"id": …, "altText": …}, …]}}
                    one video {"media": {"id": "urn:li:video:…", "title": …}}         (linkedin/video.py)
                    one PDF {"media": {"id": "urn:li:document:…", "title": …}}        (linkedin/video.py)
                    a link {"article": {"source": <url>, "title": <text>}}
    GET    /rest/posts?q=author&author=<encoded org urn>&count=<n>&sortBy=CREATED
           -> {"elements": [{"id", "commentary", "createdAt" (ms), …}], "paging": {…}}   (reconcile)
    DELETE /rest/posts/<encoded urn>  -> 204 (404: already gone)
    Commentary is "little text" (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/
    shares/little-text-format): \\ | { } @ [ ] ( ) < > # * _ ~ are backslash-escaped, or LinkedIn may cut
    the text; hashtags are written {hashtag|\\#|word}. Limit: 3,000 characters.
Images API https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api
    POST   /rest/images?action=initializeUpload {"initializeUploadRequest": {"owner": <org urn>}}
           -> {"value": {"uploadUrlExpiresAt": ms, "uploadUrl": <url>, "image": "urn:li:image:…"}}
    PUT    <uploadUrl> with the bytes (Authorization: Bearer) -> 201
    JPG, GIF or PNG, under 36,152,320 pixels. The byte cap below is CivicPost's own (not documented).
Social actions https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/
    network-update-social-actions:  GET /rest/socialActions/<encoded urn>
    -> {"likesSummary": {"totalLikes"}, "commentsSummary": {"aggregatedTotalComments"}}
Comments API https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/comments-api
    (w_organization_social: comment as the organisation; the member must be a Page ADMINISTRATOR)
    POST   /rest/socialActions/<encoded post urn>/comments {"actor": <org urn>, "object": <post urn>,
           "message": {"text": <text>}} -> 201 {"id", "$URN": "urn:li:comment:(urn:li:activity:…,<id>)", "actor",
           "object", "message", "created": {"time": ms}, …} (the comment URN also in `x-restli-id`)
    GET    /rest/socialActions/<encoded post urn>/comments -> {"elements": [comment, …], "paging": {…}}
    A post's first comment is published this way right after the post (publish with PostContent.reply_to).
    Comment text: at most 1,250 characters (LinkedIn's comment box; the reference names no limit).
Organisations https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/
    organization-access-control-by-role
    GET    /rest/organizationAcls?q=roleAssignee&state=APPROVED -> {"elements": [{"organization": <urn>,
           "role": "ADMINISTRATOR", "state": "APPROVED", "roleAssignee": <person urn>}]}
    GET    /rest/organizations/<id> -> {"id", "localizedName", "vanityName"}   (needs rw_organization_admin)
OAuth 2.0 https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow and
    programmatic-refresh-tokens: https://www.linkedin.com/oauth/v2/authorization (scopes below), then
    POST https://www.linkedin.com/oauth/v2/accessToken (form) -> {"access_token", "expires_in" (60 days),
    "refresh_token", "refresh_token_expires_in" (365 days, approved partners only), "scope"}

Errors (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling, shared/
platforms.md §8.2) and how they map:
    401                      renew once with the refresh token when there is one; else AuthExpired
    403                      AuthExpired (missing scope or Page role: reconnect as a Page admin)
    422 DUPLICATE_POST       Duplicate; "Content is a duplicate of urn:li:share:…" names the earlier post
    400 / other 4xx          PublishError(permanent=True)
    426                      PublishError(permanent=True): the pinned LinkedIn-Version was sunset (IT)
    429                      RateLimited (member and app daily throttles; Retry-After when sent)
    5xx, timeout on create   OutcomeUnknown: LinkedIn has no idempotency key, so reconcile looks the post up
                             among the organisation's latest posts (text and creation time) before any resend
    5xx elsewhere            PublishError(permanent=False)
Rate limits: per member and per app per day, shown in the developer portal's Analytics tab (not published).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from urllib.parse import quote, urlencode

import requests
from django.conf import settings
from django.utils import timezone

from scheduler.adapters.base import (
    AdapterError,
    AuthExpired,
    ChannelAccount,
    ConnectionCheck,
    Duplicate,
    ImageLimits,
    OutcomeUnknown,
    PlatformAdapter,
    PostContent,
    Problem,
    PublishError,
    PublishResult,
    RateLimited,
    TextLength,
    VideoLimits,
    parse_expires_at,
)
from scheduler.adapters.graph import RECONCILE_LOOKBACK, RECONCILE_MARGIN, not_found_yet
from scheduler.adapters.http import http_session, platform_base_url, request_never_sent
from scheduler.adapters.linkedin.video import (
    MAX_DOCUMENT_BYTES,
    is_document,
    poll_pending,
    upload_document,
    upload_video,
)
from scheduler.adapters.media import image_for_upload, is_image
from scheduler.adapters.video import PendingUpload, is_video, pending_reconcile

API_HOST = "https://api.linkedin.com"
OAUTH_HOST = "https://www.linkedin.com"
AUTHORIZE_PATH = "/oauth/v2/authorization"
TOKEN_PATH = "/oauth/v2/accessToken"  # noqa: S105  # nosec B105  # a URL path, not a secret
POSTS_PATH = "/rest/posts"
IMAGES_INIT_PATH = "/rest/images?action=initializeUpload"
ACLS_PATH = "/rest/organizationAcls"
ORGANIZATIONS_PATH = "/rest/organizations"
SOCIAL_ACTIONS_PATH = "/rest/socialActions"
RESTLI_PROTOCOL = "2.0.0"

SCOPES = ("w_organization_social", "r_organization_social", "rw_organization_admin")
# Roles that may post as the organisation (organizationAcls "role"); the API spells content admin in full.
POSTING_ROLES = ("ADMINISTRATOR", "CONTENT_ADMINISTRATOR", "CONTENT_ADMIN")

TEXT_LIMIT = 3000
COMMENT_LIMIT = 1250
MAX_IMAGES = 20
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif")
MAX_IMAGE_PIXELS = 36_152_320
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_ALT_TEXT = 4086
ARTICLE_TITLE_LIMIT = 400
IMAGES_ONLY = "LinkedIn posts take images, or one video, or one PDF document."
ONE_VIDEO_OR_DOCUMENT = "LinkedIn takes one video or one PDF document on its own, without images."
# Videos API "Video specifications" (linkedin/video.py): MP4, 75 KB to 500 MB, 3 seconds to 30 minutes, 1:2.4 to
# 2.4:1; a captions file (SRT) goes with the upload.
LINKEDIN_VIDEO_LIMITS = VideoLimits(
    max_bytes=500 * 1024 * 1024,
    max_seconds=30 * 60.0,
    min_seconds=3.0,
    mime_types=("video/mp4",),
    video_codecs=("h264",),
    audio_codecs=("aac", ""),
    aspect_range=(Fraction(5, 12), Fraction(12, 5)),
    takes_captions_file=True,
)
DEFAULT_RATE_LIMIT_WAIT = 15 * 60.0
TOKEN_REFRESH_MARGIN = dt.timedelta(minutes=5)
RECONCILE_COUNT = 50
RECONCILE_SETTLE_SECONDS = 120.0

# Little text: these characters are reserved and must be escaped to show as themselves.
_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_DUPLICATE_URN = re.compile(r"urn:li:(?:share|ugcPost):\d+")


def api_version() -> str:
    return str(settings.CIVICPOST_LINKEDIN_API_VERSION)


def rest_headers(access_token: str) -> dict[str, str]:
    """The three headers every /rest/ call needs."""
    return {
        "Authorization": f"Bearer {access_token}",
        "LinkedIn-Version": api_version(),
        "X-Restli-Protocol-Version": RESTLI_PROTOCOL,
    }


def encode_urn(urn: str) -> str:
    return quote(urn, safe="")


def escape_little_text(text: str) -> str:
    """Returns `text` as LinkedIn's little text: reserved characters escaped, #words as hashtags."""
    pieces: list[str] = []
    position = 0
    for match in _HASHTAG.finditer(text):
        pieces.append(_RESERVED.sub(r"\\\1", text[position : match.start()]))
        pieces.append("{hashtag|\\#|" + _RESERVED.sub(r"\\\1", match.group(1)) + "}")
        position = match.end()
    pieces.append(_RESERVED.sub(r"\\\1", text[position:]))
    return "".join(pieces)


def unescape_little_text(text: str) -> str:
    """Reads little text back as plain text (for matching what LinkedIn returns with what we sent)."""
    text = re.sub(r"\{hashtag\|\\?#\|([^}]*)\}", r"#\1", text)
    return re.sub(r"\\(.)", r"\1", text)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def permalink(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


def organization_id(urn: str) -> str:
    return urn.rsplit(":", 1)[-1]


def _raw(response: requests.Response | None) -> dict[str, Any]:
    if response is None:
        return {}
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:2000]
    return {"status": response.status_code, "body": body, "x-restli-id": response.headers.get("x-restli-id", "")}


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error_description") or body.get("error") or "")
    return ""


def _retry_after(response: requests.Response) -> float:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else DEFAULT_RATE_LIMIT_WAIT


def classify(response: requests.Response, *, creates_post: bool) -> AdapterError:
    """Maps a LinkedIn error answer onto the error vocabulary (see the table in the module docstring)."""
    status = response.status_code
    detail = _message(response)
    raw = _raw(response)
    if status == 401:
        return AuthExpired(
            "LinkedIn no longer accepts CivicPost's sign-in for this Page; a department admin must reconnect it.",
            code="linkedin_unauthorized",
            raw=raw,
        )
    if status == 403:
        return AuthExpired(
            "LinkedIn refused: the person who connected this Page is no longer its administrator or content admin, "
            f"or a permission is missing; reconnect as a Page admin. ({detail})",
            code="linkedin_forbidden",
            raw=raw,
        )
    if status == 422 and "DUPLICATE_POST" in json.dumps(raw.get("body", "")):
        found = _DUPLICATE_URN.search(detail)
        existing = PublishResult(remote_id=found.group(0), permalink=permalink(found.group(0))) if found else None
        return Duplicate(
            f"LinkedIn says this exact post is already on the Page: {detail}",
            existing=existing,
            code="linkedin_duplicate",
            raw=raw,
        )
    if status == 426:
        return PublishError(
            f"LinkedIn no longer supports API version {api_version()}; the city's IT team must update "
            "CIVICPOST_LINKEDIN_API_VERSION.",
            permanent=True,
            code="linkedin_version_sunset",
            raw=raw,
        )
    if status == 429:
        return RateLimited(
            "LinkedIn asked us to wait before posting again.",
            retry_after=_retry_after(response),
            code="linkedin_rate_limited",
            raw=raw,
        )
    if status >= 500:
        if creates_post:
            return OutcomeUnknown(f"LinkedIn answered with a server error ({status}); the post may be up.", raw=raw)
        return PublishError(f"LinkedIn answered with a server error ({status}).", permanent=False, raw=raw)
    return PublishError(
        f"LinkedIn refused the post ({status}): {detail}", permanent=True, code=f"linkedin_http_{status}", raw=raw
    )


def _connection_error(error: requests.RequestException, *, creates_post: bool) -> AdapterError:
    if request_never_sent(error):
        return PublishError(
            f"Could not connect to LinkedIn ({type(error).__name__}); nothing was sent.", permanent=False
        )
    if creates_post:
        return OutcomeUnknown(f"The connection to LinkedIn broke while posting ({type(error).__name__}).")
    return PublishError(f"The connection to LinkedIn broke ({type(error).__name__}).", permanent=False)


class LinkedInAdapter(PlatformAdapter):
    platform = "linkedin"
    label = "LinkedIn Page"
    max_media = MAX_IMAGES
    requires_alt_text = True
    image_limits = ImageLimits(max_bytes=MAX_IMAGE_BYTES, mime_types=IMAGE_TYPES, max_pixels=MAX_IMAGE_PIXELS)
    video_limits = LINKEDIN_VIDEO_LIMITS
    # A reply is a comment as the organisation (Comments API above); a post's first comment is one.
    supports_replies = True
    supports_first_comment = True
    takes_documents = True
    first_comment_max_chars = COMMENT_LIMIT

    def __init__(self, account: ChannelAccount) -> None:
        super().__init__(account)
        self.base_url = platform_base_url("linkedin", API_HOST)
        self.session = http_session()

    @property
    def organization_urn(self) -> str:
        return str(self.account.options.get("organization_urn") or "")

    # --- HTTP ---------------------------------------------------------------------------------------

    def _token(self) -> str:
        token = str(self.account.credentials.get("access_token") or "")
        if not token:
            raise AuthExpired("The LinkedIn Page is not connected: no token is stored.", code="linkedin_no_token")
        return token

    def _refresh_if_expiring(self) -> None:
        expires_at = parse_expires_at(self.account.credentials.get("expires_at"))
        if expires_at is None or expires_at - TOKEN_REFRESH_MARGIN > timezone.now():
            return
        if self.account.credentials.get("refresh_token"):
            self.refresh_credentials()
            return
        raise AuthExpired(
            "The LinkedIn sign-in ran out (LinkedIn tokens last 60 days); a department admin must reconnect the Page.",
            code="linkedin_token_expired",
        )

    def _request(
        self, method: str, path_or_url: str, *, creates_post: bool = False, **kwargs: Any
    ) -> requests.Response:
        """Sends one call, renewing the token once on 401 when a refresh token is stored. Returns the 2xx
        response; raises an AdapterError otherwise."""
        self._refresh_if_expiring()
        url = path_or_url if path_or_url.startswith("http") else f"{self.base_url}{path_or_url}"
        extra_headers = kwargs.pop("headers", {})
        for attempt in range(2):
            headers = {**rest_headers(self._token()), **extra_headers}
            try:
                response = self.session.request(method, url, headers=headers, **kwargs)
            except requests.RequestException as error:
                raise _connection_error(error, creates_post=creates_post) from error
            if response.status_code == 401 and attempt == 0 and self.account.credentials.get("refresh_token"):
                # A 401 means LinkedIn applied nothing: renewing and repeating is safe.
                self.refresh_credentials()
                continue
            if not 200 <= response.status_code < 300:
                raise classify(response, creates_post=creates_post)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def refresh_credentials(self) -> dict[str, Any]:
        """Renews the access token with the refresh token (approved partners only). Returns the new
        credentials (also in `updated_credentials`). Raises AuthExpired when LinkedIn refuses,
        PublishError(permanent=False) when it cannot be reached."""
        refresh_token = self.account.credentials.get("refresh_token")
        if not refresh_token:
            expires_at = parse_expires_at(self.account.credentials.get("expires_at"))
            if expires_at is not None and expires_at > timezone.now():
                # Refresh tokens are for approved partners only: the token still works until it runs out,
                # so the periodic refresher must not mark the channel "needs reconnect" early.
                raise PublishError(
                    f"LinkedIn gives this app no refresh token; reconnect the Page before {expires_at:%Y-%m-%d}.",
                    permanent=False,
                    code="linkedin_no_refresh",
                )
            raise AuthExpired("LinkedIn gave no refresh token; reconnect the Page.", code="linkedin_no_refresh")
        try:
            response = self.session.post(
                f"{platform_base_url('linkedin_oauth', OAUTH_HOST)}{TOKEN_PATH}",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                    "client_id": settings.CIVICPOST_LINKEDIN_CLIENT_ID,
                    "client_secret": settings.CIVICPOST_LINKEDIN_CLIENT_SECRET,
                },
            )
        except requests.RequestException as error:
            raise PublishError(
                f"Could not reach LinkedIn to renew the sign-in ({type(error).__name__}).", permanent=False
            ) from error
        if response.status_code >= 500:
            raise PublishError("LinkedIn could not renew the sign-in right now.", permanent=False, raw=_raw(response))
        if response.status_code != 200:
            raise AuthExpired(
                "LinkedIn refused to renew the sign-in; a department admin must reconnect the Page.",
                code="linkedin_refresh_refused",
                raw=_raw(response),
            )
        self._renewed_credentials(token_credentials(response.json(), previous=self.account.credentials))
        return dict(self.account.credentials)

    # --- Contract -------------------------------------------------------------------------------------

    def text_length(self, content: PostContent) -> TextLength:
        return TextLength(used=len(self._commentary_text(content)), limit=TEXT_LIMIT)

    @staticmethod
    def _commentary_text(content: PostContent) -> str:
        # With images the link cannot be an article card, so it goes into the text.
        return content.text_with_link() if content.media else content.text

    def validate(self, content: PostContent) -> list[Problem]:
        problems = super().validate(content)
        if not content.text.strip() and not content.media and not content.link:
            problems.append(Problem("Write the text of the post."))
        if any(not (is_image(item) or is_video(item) or is_document(item)) for item in content.media):
            problems.append(Problem(IMAGES_ONLY, "media"))
        elif len(content.media) > 1 and any(is_video(item) or is_document(item) for item in content.media):
            problems.append(Problem(ONE_VIDEO_OR_DOCUMENT, "media"))
        for item in content.media:
            if is_document(item) and (item.size_bytes or 0) > MAX_DOCUMENT_BYTES:
                problems.append(Problem("LinkedIn takes documents up to 100 MB.", "media"))
        if any(len(item.alt_text) > MAX_ALT_TEXT for item in content.media):
            problems.append(Problem(f"LinkedIn allows alt text up to {MAX_ALT_TEXT} characters.", "media"))
        return problems

    def post_body(self, content: PostContent, image_urns: list[str], media_urn: str = "") -> dict[str, Any]:
        """Returns the JSON body of POST /rest/posts for `content` with its uploaded images, or its one uploaded
        video or document (`media_urn`, titled with the item's description or the text's first line)."""
        body: dict[str, Any] = {
            "author": self.organization_urn,
            "commentary": escape_little_text(self._commentary_text(content)),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        alts = [item.alt_text for item in content.media]
        first_line = (content.text.strip().splitlines() or [content.link or "Video"])[0]
        if media_urn:
            title = (alts[0] if alts and alts[0].strip() else first_line)[:ARTICLE_TITLE_LIMIT]
            body["content"] = {"media": {"id": media_urn, "title": title}}
        elif len(image_urns) == 1:
            body["content"] = {"media": {"id": image_urns[0], "altText": alts[0]}}
        elif image_urns:
            body["content"] = {
                "multiImage": {
                    "images": [{"id": urn, "altText": alt} for urn, alt in zip(image_urns, alts, strict=True)]
                }
            }
        elif content.link:
            body["content"] = {"article": {"source": content.link, "title": first_line[:ARTICLE_TITLE_LIMIT]}}
        return body

    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        """Uploads the images, then creates the post. Returns its URN (x-restli-id) and permalink. With reply_to:
        comments on that post as the organisation instead."""
        if content.reply_to is not None:
            return self._comment(content)
        if not self.organization_urn:
            raise AuthExpired("No LinkedIn organisation is stored for this channel; reconnect it.")
        if len(content.media) == 1 and (is_video(content.media[0]) or is_document(content.media[0])):
            return self._publish_media(content, idempotency_key=idempotency_key)
        if any(not is_image(item) for item in content.media):
            raise PublishError(IMAGES_ONLY, permanent=True)
        images = [image_for_upload(item, self.image_limits, label=self.label) for item in content.media]
        image_urns = [self._upload_image(image.data, image.mime_type) for image in images]
        response = self._request("POST", POSTS_PATH, json=self.post_body(content, image_urns), creates_post=True)
        urn = response.headers.get("x-restli-id", "")
        if not urn:
            raise OutcomeUnknown("LinkedIn answered without the post's id; checking the Page.", raw=_raw(response))
        return PublishResult(remote_id=urn, permalink=permalink(urn), raw={**_raw(response), "images": image_urns})

    def _publish_media(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        """One video or document: uploaded once per delivery and processed (linkedin/video.py), then one post.
        `post_sent` is saved before the post request, so an unclear answer is reconciled, never re-sent blind."""
        item = content.media[0]
        upload_one = upload_document if is_document(item) else upload_video
        urn = upload_one(self, item, idempotency_key=idempotency_key)
        upload = PendingUpload.load(self.platform, idempotency_key)
        upload.save(post_sent=True)
        response = self._request("POST", POSTS_PATH, json=self.post_body(content, [], urn), creates_post=True)
        post_urn = response.headers.get("x-restli-id", "")
        if not post_urn:
            raise OutcomeUnknown("LinkedIn answered without the post's id; checking the Page.", raw=_raw(response))
        raw = {**_raw(response), "media": urn, "captions": upload.state.get("captions")}
        upload.clear()
        return PublishResult(remote_id=post_urn, permalink=permalink(post_urn), raw=raw)

    def _reply_fields(self, content: PostContent) -> tuple[str, dict[str, Any]]:
        """The comment request for content that answers a post: (path, JSON body) of
        POST /rest/socialActions/<encoded urn>/comments."""
        assert content.reply_to is not None  # noqa: S101 - callers check
        target = content.reply_to.remote_id
        body = {"actor": self.organization_urn, "object": target, "message": {"text": content.text}}
        return f"{SOCIAL_ACTIONS_PATH}/{encode_urn(target)}/comments", body

    def _comment(self, content: PostContent) -> PublishResult:
        if not self.organization_urn:
            raise AuthExpired("No LinkedIn organisation is stored for this channel; reconnect it.")
        path, body = self._reply_fields(content)
        response = self._request("POST", path, json=body, creates_post=True)
        answer = _raw(response)
        created = answer["body"] if isinstance(answer.get("body"), dict) else {}
        urn = str(created.get("$URN") or response.headers.get("x-restli-id") or "")
        if not urn:
            raise OutcomeUnknown("LinkedIn answered without the comment's id; checking the comments.", raw=answer)
        target = content.reply_to.remote_id if content.reply_to else ""
        return PublishResult(remote_id=urn, permalink=permalink(target), raw=answer)

    def _reconcile_comment(self, content: PostContent, *, sent_at: dt.datetime) -> PublishResult | None:
        """Looks for our comment, by the organisation, among the post's comments."""
        assert content.reply_to is not None  # noqa: S101 - callers check
        target = content.reply_to.remote_id
        try:
            body = self._request("GET", f"{SOCIAL_ACTIONS_PATH}/{encode_urn(target)}/comments").json()
        except AdapterError as error:
            raise OutcomeUnknown(f"Could not check LinkedIn for the comment: {error.message}", raw=error.raw) from error
        since = sent_at - RECONCILE_LOOKBACK
        expected = _normalise(content.text)
        for element in body.get("elements") or []:
            created = dt.datetime.fromtimestamp(int((element.get("created") or {}).get("time") or 0) / 1000, tz=dt.UTC)
            text = _normalise(str((element.get("message") or {}).get("text") or ""))
            if element.get("actor") == self.organization_urn and created >= since and text == expected:
                urn = str(element.get("$URN") or element.get("id") or "")
                return PublishResult(remote_id=urn, permalink=permalink(target), raw=dict(element))
        not_found_yet(label="LinkedIn", sent_at=sent_at, now=timezone.now(), settle_seconds=RECONCILE_SETTLE_SECONDS)
        return None

    def _upload_image(self, data: bytes, mime_type: str) -> str:
        """Registers and uploads one image. Returns its urn:li:image. Nothing is posted yet, so every
        failure here is safe to retry (an unused image is never shown)."""
        init = self._request(
            "POST", IMAGES_INIT_PATH, json={"initializeUploadRequest": {"owner": self.organization_urn}}
        ).json()["value"]
        self._request("PUT", str(init["uploadUrl"]), data=data, headers={"Content-Type": "application/octet-stream"})
        return str(init["image"])

    def reconcile(
        self,
        content: PostContent,
        *,
        idempotency_key: str,
        sent_at: dt.datetime,
        first_sent_at: dt.datetime | None = None,
    ) -> PublishResult | None:
        """Looks for our text among the organisation's latest posts created from shortly before the send.

        Returns the post if found; None once RECONCILE_SETTLE_SECONDS have passed and the window (all of
        it within the latest RECONCILE_COUNT posts) does not hold it; raises CheckAgainLater before that,
        OutcomeUnknown when LinkedIn cannot be read or the latest posts do not reach back to the window. A comment
        (reply_to) is looked for among the comments of the post it answers."""
        if content.reply_to is not None:
            return self._reconcile_comment(content, sent_at=sent_at)
        if pending_reconcile(self, idempotency_key, lambda upload: poll_pending(self, upload)):
            return None  # the video or document was never posted: the next attempt resumes and posts it
        query = urlencode({"q": "author", "count": RECONCILE_COUNT, "sortBy": "CREATED"})
        try:
            body = self._request("GET", f"{POSTS_PATH}?author={encode_urn(self.organization_urn)}&{query}").json()
        except AdapterError as error:
            raise OutcomeUnknown(f"Could not check LinkedIn for the post: {error.message}", raw=error.raw) from error
        since = (first_sent_at or sent_at) - RECONCILE_LOOKBACK
        until = sent_at + RECONCILE_MARGIN
        expected = _normalise(self._commentary_text(content))
        elements = list(body.get("elements") or [])
        for element in elements:
            created = dt.datetime.fromtimestamp(int(element.get("createdAt") or 0) / 1000, tz=dt.UTC)
            text = _normalise(unescape_little_text(str(element.get("commentary") or "")))
            if since <= created <= until and text == expected:
                urn = str(element["id"])
                return PublishResult(remote_id=urn, permalink=permalink(urn), raw=dict(element))
        oldest = min((int(e.get("createdAt") or 0) for e in elements), default=None)
        if len(elements) >= RECONCILE_COUNT and oldest is not None and oldest / 1000 > since.timestamp():
            raise OutcomeUnknown(
                "LinkedIn shows more posts since the send than CivicPost reads and the post is not among them: "
                "sent, but not confirmed — check the Page before posting again.",
                code="reconcile_window_too_busy",
            )
        not_found_yet(label="LinkedIn", sent_at=sent_at, now=timezone.now(), settle_seconds=RECONCILE_SETTLE_SECONDS)
        return None

    def delete(self, remote_id: str, *, post_id: int | None = None) -> None:
        try:
            self._request("DELETE", f"{POSTS_PATH}/{encode_urn(remote_id)}")
        except PublishError as error:
            if error.code == "linkedin_http_404":
                return  # Already gone.
            raise

    def fetch_metrics(self, remote_id: str) -> dict[str, int]:
        body = self._request("GET", f"{SOCIAL_ACTIONS_PATH}/{encode_urn(remote_id)}").json()
        return {
            "likes": int((body.get("likesSummary") or {}).get("totalLikes") or 0),
            "replies": int((body.get("commentsSummary") or {}).get("aggregatedTotalComments") or 0),
        }

    def check_connection(self) -> ConnectionCheck:
        try:
            body = self._request("GET", f"{ORGANIZATIONS_PATH}/{organization_id(self.organization_urn)}").json()
        except AdapterError as error:
            return ConnectionCheck(ok=False, message=error.message)
        expires_at = parse_expires_at(self.account.credentials.get("expires_at"))
        name = body.get("localizedName") or self.account.display_name
        return ConnectionCheck(ok=True, message=f"Connected to the LinkedIn Page {name}.", expires_at=expires_at)


# --- Connecting (used by connect.py) --------------------------------------------------------------------


def token_credentials(token: Mapping[str, Any], *, previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Returns what a channel stores from a token answer (authorization code or refresh)."""
    now = timezone.now()
    credentials = dict(previous or {})
    credentials["access_token"] = str(token["access_token"])
    if token.get("expires_in"):
        credentials["expires_at"] = (now + dt.timedelta(seconds=int(token["expires_in"]))).isoformat()
    if token.get("refresh_token"):
        credentials["refresh_token"] = str(token["refresh_token"])
    if token.get("refresh_token_expires_in"):
        credentials["refresh_expires_at"] = (
            now + dt.timedelta(seconds=int(token["refresh_token_expires_in"]))
        ).isoformat()
    if token.get("scope"):
        credentials["scopes"] = str(token["scope"])
    return credentials


def authorization_url(*, redirect_uri: str, state: str) -> str:
    query = {
        "response_type": "code",
        "client_id": settings.CIVICPOST_LINKEDIN_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": " ".join(SCOPES),
    }
    return f"{OAUTH_HOST}{AUTHORIZE_PATH}?{urlencode(query)}"


def exchange_code(*, code: str, redirect_uri: str) -> dict[str, Any]:
    """Returns the credentials for the callback's code. Raises AdapterError."""
    session = http_session()
    try:
        response = session.post(
            f"{platform_base_url('linkedin_oauth', OAUTH_HOST)}{TOKEN_PATH}",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": settings.CIVICPOST_LINKEDIN_CLIENT_ID,
                "client_secret": settings.CIVICPOST_LINKEDIN_CLIENT_SECRET,
            },
        )
    except requests.RequestException as error:
        raise PublishError(f"Could not reach LinkedIn ({type(error).__name__}).", permanent=False) from error
    if response.status_code != 200:
        raise PublishError(
            f"LinkedIn did not accept the sign-in (HTTP {response.status_code}): {_message(response)}",
            permanent=True,
            raw=_raw(response),
        )
    return token_credentials(response.json())


@dataclass(frozen=True)
class Organization:
    urn: str
    name: str
    role: str

    @property
    def can_post(self) -> bool:
        return self.role in POSTING_ROLES


def list_organizations(*, access_token: str) -> list[Organization]:
    """Returns the organisations the member holds an approved role on, with their names. Raises AdapterError."""
    adapter = LinkedInAdapter(ChannelAccount(channel_id=0, display_name="", credentials={"access_token": access_token}))
    acls = adapter._request("GET", f"{ACLS_PATH}?{urlencode({'q': 'roleAssignee', 'state': 'APPROVED'})}").json()
    best: dict[str, str] = {}
    for element in acls.get("elements") or []:
        urn, role = str(element.get("organization") or ""), str(element.get("role") or "")
        if urn and (urn not in best or role in POSTING_ROLES):
            best[urn] = role
    organizations = []
    for urn, role in best.items():
        body = adapter._request("GET", f"{ORGANIZATIONS_PATH}/{organization_id(urn)}").json()
        organizations.append(Organization(urn=urn, name=str(body.get("localizedName") or urn), role=role))
    return organizations
