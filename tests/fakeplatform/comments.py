"""The fake platform's inbox endpoints: residents' comments, replies and mentions, in each platform's documented
shapes (hooked into server.py's per-platform handlers like video.py: a hook answers the request and returns True, or
leaves it to the handler). Faults (429, 5xx) apply as to every read when ``faults_on_reads`` is set.

- X (https://docs.x.com/x-api/posts/user-mention-timeline-by-user-id): GET /2/users/:id/mentions, newest first,
  ``since_id``, ``max_results`` (5-100), ``pagination_token`` / ``meta.next_token``, ``includes.users``;
  PUT /2/tweets/:id/hidden; POST /2/users/:id/muting, DELETE /2/users/:id/muting/:target.
- Facebook (https://developers.facebook.com/docs/graph-api/reference/page-post/comments): GET /{post-id}/comments
  (newest first with order=reverse_chronological, ``limit``, ``after`` cursor, ``paging.next``, ``from``,
  ``parent``, ``is_hidden``); POST /{comment-id} is_hidden; DELETE /{comment-id}.
- Instagram (https://developers.facebook.com/docs/instagram-platform/comment-moderation): GET /{ig-media-id}/comments
  (top-level comments, their replies nested under ``replies``); POST /{ig-comment-id} hide; DELETE /{ig-comment-id}.
- Threads (https://developers.facebook.com/documentation/threads/reference/reply-management): GET
  /{threads-media-id}/conversation (every reply, newest first with reverse=true); POST /{reply-id}/manage_reply hide.

A comment the resident deleted (`fake.delete_resident_comment`) is no longer listed, and acting on it answers
Graph's code 100 / subcode 33 (X: 404), as the real platforms do. ``fake.add_comments(platform, post_id, n)`` and
``fake.add_x_mentions(user_id, n, in_reply_to=...)`` file residents' words; ``fake.comments.by_id`` is what the fake
holds (hidden, deleted, muted authors in ``fake.comments.muted``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakeplatform.server import _Handler

GRAPH_GONE = (
    "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, "
    "or does not support this operation."
)


@dataclass
class CommentsFake:
    # Every comment / reply / mention by id: {"id", "platform", "post", "parent", "text", "author", "author_id",
    # "created" (aware datetime), "seq", "hidden", "deleted", "ours"}.
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    # X: mentions per mentioned user id, oldest first (ids).
    x_mentions: dict[str, list[str]] = field(default_factory=dict)
    muted: set[tuple[str, str]] = field(default_factory=set)
    # Facebook: (page id, user id) blocked from the Page.
    blocked: set[tuple[str, str]] = field(default_factory=set)
    seq: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.by_id.clear()
            self.x_mentions.clear()
            self.muted.clear()
            self.blocked.clear()

    def add(self, **values: Any) -> dict[str, Any]:
        with self.lock:
            self.seq += 1
            row = {"hidden": False, "deleted": False, "parent": "", "ours": False, "seq": self.seq, **values}
            self.by_id[row["id"]] = row
            return row

    def on_post(self, platform: str, post_id: str) -> list[dict[str, Any]]:
        """The post's comments still there, newest first."""
        with self.lock:
            rows = [r for r in self.by_id.values() if r["platform"] == platform and r["post"] == post_id]
        return sorted((r for r in rows if not r["deleted"]), key=lambda r: -r["seq"])

    def platform_of(self, comment_id: str) -> str | None:
        row = self.by_id.get(comment_id)
        return row["platform"] if row else None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _graph_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _x_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"c{seq}".encode()).decode()


def _uncursor(text: str) -> int | None:
    try:
        return int(base64.urlsafe_b64decode(text.encode()).decode()[1:])
    except (ValueError, UnicodeDecodeError):
        return None


# --- Graph (Facebook, Instagram, Threads) ---------------------------------------------------------------------


def _graph_page(handler: _Handler, rows: list[dict[str, Any]], render: Any) -> None:
    """One newest-first page: ``limit`` (25 by default, 100 at most), ``after``, ``paging.cursors`` and ``next``."""
    limit = max(1, min(100, int(handler.query.get("limit") or 25)))
    after = _uncursor(handler.query["after"]) if handler.query.get("after") else None
    if handler.query.get("after") and after is None:
        handler._fb_error(400, 100, "(#100) Invalid cursor")
        return
    if after is not None:
        rows = [r for r in rows if r["seq"] < after]
    page = rows[:limit]
    paging: dict[str, Any] = {}
    if page:
        paging["cursors"] = {"before": _cursor(page[0]["seq"]), "after": _cursor(page[-1]["seq"])}
    if len(rows) > limit:
        query = {**handler.query, "after": paging["cursors"]["after"]}
        path = urllib.parse.urlsplit(handler.path).path
        paging["next"] = f"{handler._base()}{path}?{urllib.parse.urlencode(query)}"
    handler._json(200, {"data": [render(r) for r in page], "paging": paging})


def _moderate_graph(handler: _Handler, platform: str, method: str, comment_id: str, field_name: str) -> bool:
    row = handler.fake.comments.by_id.get(comment_id)
    if row is None or row["platform"] != platform:
        return False
    if row["deleted"]:
        handler._fb_error(400, 100, GRAPH_GONE.format(method=method.lower(), id=comment_id), error_subcode=33)
        return True
    fields = handler.form()
    if method == "DELETE":
        row["deleted"] = True
    else:
        row["hidden"] = str(fields.get(field_name, "")).lower() == "true"
    handler.fake.count(f"{platform}:comments_moderated")
    handler._json(200, {"success": True})
    return True


def facebook(handler: _Handler, method: str, parts: list[str], page_id: str) -> bool:
    fake = handler.fake
    if len(parts) == 2 and parts[1] == "comments" and method == "GET" and "_" in parts[0]:
        entry = fake.ledger.get("facebook", parts[0])
        rows = fake.comments.on_post("facebook", parts[0])
        if (entry is None or entry.deleted) and not rows:
            handler._fb_error(400, 100, GRAPH_GONE.format(method="get", id=parts[0]), error_subcode=33)
            return True
        if handler.query.get("filter", "toplevel") != "stream":
            rows = [r for r in rows if not r["parent"]]
        if handler.query.get("order") == "chronological":
            rows = list(reversed(rows))

        def render(row: dict[str, Any]) -> dict[str, Any]:
            data = {
                "id": row["id"],
                "message": row["text"],
                "created_time": _graph_time(row["created"]),
                "from": {"id": row["author_id"], "name": row["author"]},
                "permalink_url": f"https://www.facebook.com/{parts[0].replace('_', '/posts/')}?comment_id={row['id']}",
                "is_hidden": row["hidden"],
            }
            if row["parent"]:
                data["parent"] = {"id": row["parent"]}
            return data

        fake.count("facebook:comments_read")
        _graph_page(handler, rows, render)
        return True
    if len(parts) == 2 and parts[1] == "comments" and method == "POST":
        # A comment by the Page (an inbox reply, or a post's first comment): kept in the ledger like every post.
        target = fake.comments.by_id.get(parts[0])
        post = target["post"] if target else parts[0]
        message = str(handler.form().get("message") or "")
        if not message:
            handler._fb_error(400, 100, "(#100) Missing message")
            return True
        comment_id = f"{post.split('_')[-1]}_{fake.next_id()}"
        fake.comments.add(
            id=comment_id,
            platform="facebook",
            post=post,
            parent=parts[0] if target else "",
            text=message,
            author=f"Fake page {page_id}",
            author_id=page_id,
            created=_now(),
            ours=True,
        )
        fake.ledger.add(
            platform="facebook", account=page_id, remote_id=comment_id, text=message, extra={"reply_to": parts[0]}
        )
        handler._json(200, {"id": comment_id})
        return True
    if len(parts) == 2 and parts[1] == "blocked" and method in ("POST", "DELETE"):
        return _block_facebook(handler, method, parts[0])
    if len(parts) == 1 and method in ("POST", "DELETE"):
        return _moderate_graph(handler, "facebook", method, parts[0], "is_hidden")
    return False


def _block_facebook(handler: _Handler, method: str, page_id: str) -> bool:
    """POST /{page-id}/blocked user=[ids] -> {id: true}; DELETE /{page-id}/blocked?user=<id> -> {"success": true}
    (https://developers.facebook.com/docs/graph-api/reference/page/blocked)."""
    fake = handler.fake
    if method == "POST":
        raw = str(handler.form().get("user") or "")
        try:
            ids = [str(i) for i in json.loads(raw)] if raw.startswith("[") else [raw]
        except ValueError:
            ids = []
        if not [i for i in ids if i]:
            handler._fb_error(400, 100, "(#100) The parameter user is required")
            return True
        with fake.comments.lock:
            fake.comments.blocked.update((page_id, i) for i in ids)
        handler._json(200, dict.fromkeys(ids, True))
        return True
    user = str(handler.query.get("user") or "")
    if not user:
        handler._fb_error(400, 100, "(#100) The parameter user is required")
        return True
    with fake.comments.lock:
        fake.comments.blocked.discard((page_id, user))
    handler._json(200, {"success": True})
    return True


def graph(handler: _Handler, platform: str, method: str, parts: list[str]) -> bool:
    """Instagram and Threads comment endpoints."""
    fake = handler.fake
    if platform == "instagram" and len(parts) == 2 and parts[1] == "comments" and method == "GET":
        rows = fake.comments.on_post("instagram", parts[0])
        top = [r for r in rows if not r["parent"]]

        def render(row: dict[str, Any]) -> dict[str, Any]:
            def one(r: dict[str, Any]) -> dict[str, Any]:
                data = {
                    "id": r["id"],
                    "text": r["text"],
                    "timestamp": _graph_time(r["created"]),
                    "username": r["author"],
                    "from": {"id": r["author_id"], "username": r["author"]},
                    "hidden": r["hidden"],
                }
                if r["parent"]:
                    data["parent_id"] = r["parent"]
                return data

            replies = sorted((r for r in rows if r["parent"] == row["id"]), key=lambda r: r["seq"])
            return {**one(row), **({"replies": {"data": [one(r) for r in replies]}} if replies else {})}

        fake.count("instagram:comments_read")
        _graph_page(handler, top, render)
        return True
    if platform == "threads" and len(parts) == 2 and parts[1] in ("conversation", "replies") and method == "GET":
        rows = fake.comments.on_post("threads", parts[0])
        if parts[1] == "replies":
            rows = [r for r in rows if not r["parent"]]
        if handler.query.get("reverse") == "false":
            rows = list(reversed(rows))

        def render_reply(row: dict[str, Any]) -> dict[str, Any]:
            return {
                "id": row["id"],
                "text": row["text"],
                "username": row["author"],
                "permalink": f"https://www.threads.net/@{row['author']}/post/{row['id']}",
                "timestamp": _graph_time(row["created"]),
                "media_type": "TEXT_POST",
                "hide_status": "HIDDEN" if row["hidden"] else "NOT_HUSHED",
                "is_reply_owned_by_me": row["ours"],
                "replied_to": {"id": row["parent"] or row["post"]},
                "root_post": {"id": row["post"]},
            }

        fake.count("threads:replies_read")
        _graph_page(handler, rows, render_reply)
        return True
    if platform == "instagram" and len(parts) == 1 and method in ("POST", "DELETE"):
        return _moderate_graph(handler, "instagram", method, parts[0], "hide")
    if platform == "threads" and len(parts) == 2 and parts[1] == "manage_reply" and method == "POST":
        row = fake.comments.by_id.get(parts[0])
        if row is not None and row["parent"]:
            handler._fb_error(400, 100, "(#100) Only top-level replies can be hidden")
            return True
        return _moderate_graph(handler, "threads", method, parts[0], "hide")
    return False


# --- X ------------------------------------------------------------------------------------------------------


def x(handler: _Handler, method: str, path: str, user_id: str) -> bool:
    fake = handler.fake
    if (match := re.fullmatch(r"/2/users/(\d+)/mentions", path)) and method == "GET":
        _x_mentions(handler, match[1])
        return True
    if (match := re.fullmatch(r"/2/tweets/(\d+)/hidden", path)) and method == "PUT":
        row = fake.comments.by_id.get(match[1])
        if row is None or row["deleted"]:
            handler._json(
                404,
                {
                    "title": "Not Found Error",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                    "detail": f"Could not find tweet with id: [{match[1]}].",
                    "status": 404,
                },
            )
            return True
        if not row["parent"]:
            detail = "You can only hide replies to conversations you started."
            handler._json(403, {"title": "Forbidden", "type": "about:blank", "status": 403, "detail": detail})
            return True
        row["hidden"] = bool(handler.form().get("hidden"))
        handler._json(200, {"data": {"hidden": row["hidden"]}})
        return True
    if (match := re.fullmatch(r"/2/users/(\d+)/muting", path)) and method == "POST":
        target = str(handler.form().get("target_user_id") or "")
        fake.comments.muted.add((match[1], target))
        handler._json(200, {"data": {"muting": True}})
        return True
    if (match := re.fullmatch(r"/2/users/(\d+)/muting/(\d+)", path)) and method == "DELETE":
        fake.comments.muted.discard((match[1], match[2]))
        handler._json(200, {"data": {"muting": False}})
        return True
    return False


def _x_mentions(handler: _Handler, user_id: str) -> None:
    fake = handler.fake
    query = handler.query
    max_results = int(query.get("max_results") or 10)
    if not 5 <= max_results <= 100:
        message = f"The `max_results` query parameter value [{max_results}] is not between 5 and 100"
        handler._json(
            400,
            {
                "errors": [{"parameters": {"max_results": [str(max_results)]}, "message": message}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            },
        )
        return
    ids = [i for i in reversed(fake.comments.x_mentions.get(user_id, [])) if not fake.comments.by_id[i]["deleted"]]
    if query.get("since_id"):
        ids = [i for i in ids if int(i) > int(query["since_id"])]
    if query.get("pagination_token"):
        below = _uncursor(query["pagination_token"])
        ids = [i for i in ids if below is not None and int(i) < below]
    page = ids[:max_results]
    rows = [fake.comments.by_id[i] for i in page]
    meta: dict[str, Any] = {"result_count": len(rows)}
    if rows:
        meta.update(newest_id=rows[0]["id"], oldest_id=rows[-1]["id"])
    if len(ids) > max_results:
        meta["next_token"] = _cursor(int(page[-1]))
    body: dict[str, Any] = {"meta": meta}
    if rows:
        body["data"] = [
            {
                "id": r["id"],
                "text": r["text"],
                "author_id": r["author_id"],
                "created_at": _x_time(r["created"]),
                "conversation_id": r["post"] or r["id"],
                "edit_history_tweet_ids": [r["id"]],
                **({"referenced_tweets": [{"type": "replied_to", "id": r["parent"]}]} if r["parent"] else {}),
            }
            for r in rows
        ]
        users = {
            r["author_id"]: {"id": r["author_id"], "name": r["author"].title(), "username": r["author"]} for r in rows
        }
        body["includes"] = {"users": list(users.values())}
    fake.count("x:mentions_read")
    handler._json(200, body)
