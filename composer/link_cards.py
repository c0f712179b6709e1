"""The link card in the composer's preview: the title, description and site name a platform shows for a link,
read from the page's Open Graph tags (https://ogp.me/; `<title>` and `<meta name="description">` when a page
has none).

The address is typed by the person composing, so it is fetched only through the SSRF guard
(scheduler/adapters/ssrf.py: public addresses only, each redirect hop re-checked, no proxies), with a short
timeout, and only the page's first HEAD_BYTES are read. Answers are kept in Django's cache (a failure too, for
less time), so typing and the live check fetch one page at most once. Any failure (private address, timeout,
not HTML, no tags) gives no card: the preview then shows the bare host, as before.

Parsed with the standard library's html.parser: lxml is only a development dependency here (through
python3-saml), and reading a few <meta> tags in the <head> needs no more."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import requests
from django.core.cache import cache

from scheduler.adapters.ssrf import ResponseTooLarge, UnsafeURL, check_public_url, guarded_session

logger = logging.getLogger(__name__)

# (connect, read) seconds: the live check waits for this at most once per link.
TIMEOUT = (2.0, 3.0)
# The <head> of a page is nearly always within this; the guard's own cap stops a server that sends more.
HEAD_BYTES = 256 * 1024
MAX_BYTES = 2 * 1024 * 1024
CACHE_SECONDS = 24 * 60 * 60
FAILURE_CACHE_SECONDS = 10 * 60
TITLE_LIMIT = 200
DESCRIPTION_LIMIT = 300
_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class LinkCard:
    """What a platform's card shows for a link. `image_url` is the page's og:image (absolute), not shown
    by CivicPost itself (the site's CSP loads images from its own origin only)."""

    url: str
    host: str
    title: str
    description: str = ""
    site_name: str = ""
    image_url: str = ""


class _HeadParser(HTMLParser):
    """Collects <meta property|name=... content=...> and the <title> text until the <head> ends."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "meta":
            values = {name.lower(): (value or "") for name, value in attrs}
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key and "content" in values and key not in self.meta:
                self.meta[key] = values["content"].strip()
        elif tag == "title":
            self._in_title = True
        elif tag == "body":
            self.done = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "head":
            self.done = True

    def handle_data(self, data: str) -> None:
        if self._in_title and not self.done:
            self.title += data


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def parse_link_card(html: str, *, url: str) -> LinkCard | None:
    """Returns the card described by a page's <head>, or None if it names no title at all."""
    parser = _HeadParser()
    try:
        parser.feed(html)
        parser.close()
    except AssertionError:  # html.parser gives up on some broken markup; what was read so far still counts
        pass
    meta = parser.meta
    title = meta.get("og:title") or meta.get("twitter:title") or parser.title
    if not title.strip():
        return None
    image = meta.get("og:image") or meta.get("og:image:url") or meta.get("twitter:image") or ""
    if image:
        image = urljoin(url, image)
        if urlsplit(image).scheme not in ("http", "https"):
            image = ""
    return LinkCard(
        url=url,
        host=urlsplit(url).hostname or url,
        title=_shorten(title, TITLE_LIMIT),
        description=_shorten(
            meta.get("og:description") or meta.get("twitter:description") or meta.get("description") or "",
            DESCRIPTION_LIMIT,
        ),
        site_name=_shorten(meta.get("og:site_name", ""), TITLE_LIMIT),
        image_url=image,
    )


def _decode(body: bytes, response: requests.Response) -> str:
    content_type = response.headers.get("Content-Type", "")
    declared = re.search(r"charset=([A-Za-z0-9_\-]+)", content_type)
    found = declared.group(1) if declared else None
    if not found:
        meta = _CHARSET.search(body[:4096])
        found = meta.group(1).decode("ascii") if meta else "utf-8"
    try:
        return body.decode(found, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def fetch_link_card(url: str) -> LinkCard | None:
    """Fetches the page (through the SSRF guard) and returns its card, or None for any failure."""
    try:
        checked = check_public_url(url)
    except UnsafeURL as refused:
        logger.info("No link card for %s: %s", url, refused.message)
        return None
    try:
        with (
            guarded_session(TIMEOUT, max_bytes=MAX_BYTES) as session,
            session.get(checked, stream=True, headers={"Accept": "text/html,application/xhtml+xml"}) as answer,
        ):
            content_type = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if answer.status_code != 200 or content_type not in ("text/html", "application/xhtml+xml"):
                return None
            body = b""
            for chunk in answer.iter_content(chunk_size=16 * 1024):
                body += chunk
                if len(body) >= HEAD_BYTES or b"</head>" in body.lower():
                    break
            return parse_link_card(_decode(body[:HEAD_BYTES], answer), url=answer.url or checked)
    except (requests.RequestException, UnsafeURL, ResponseTooLarge, ValueError, OSError) as error:
        logger.info("No link card for %s: %s", url, error)
        return None


def _cache_key(url: str) -> str:
    return "composer:link-card:" + hashlib.sha256(url.encode()).hexdigest()


def link_card(url: str) -> LinkCard | None:
    """Returns the card for `url` from the cache, fetching it the first time (None: no card)."""
    url = (url or "").strip()
    if not url.lower().startswith(("https://", "http://")):
        return None
    key = _cache_key(url)
    cached = cache.get(key)
    if cached is not None:
        return LinkCard(**cached) if cached else None
    card = fetch_link_card(url)
    cache.set(key, asdict(card) if card else {}, CACHE_SECONDS if card else FAILURE_CACHE_SECONDS)
    return card
