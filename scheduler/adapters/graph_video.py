"""Video through Meta's container flow (Instagram Reels, Threads video), resumable across attempts.

A video container takes Meta seconds to minutes to fetch and process (Instagram: "query the container's
status_code once per minute, for no more than 5 minutes"; Threads: "wait on average 30 seconds"). Images keep
graph.publish_container (a new container per attempt costs nothing). A video's container id is saved
(PendingUpload) as soon as it is made: a worker that lets go while Meta processes it raises CheckAgainLater, the
reconciler reads the same container's status_code, and the next attempt publishes that container, never a second
one. `post_sent` is saved before media_publish; from then on the ordinary reconcile (the account's listing) decides.

status_code: IN_PROGRESS, FINISHED, ERROR (with `status`: the reason), EXPIRED (not published within 24 hours),
PUBLISHED (https://developers.facebook.com/docs/instagram-platform/reference/ig-container,
https://developers.facebook.com/docs/threads/troubleshooting#publishing-does-not-return-a-media-id).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scheduler.adapters.base import PlatformAdapter, PublishError, PublishResult
from scheduler.adapters.graph import ContainerApi, GraphClient, publish_container
from scheduler.adapters.video import PendingUpload, processing_failed, wait_until_ready

CHECK_AFTER_SECONDS = 60.0


def _read(client: GraphClient, api: ContainerApi, container_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(container_id, {"fields": api.status_fields})
    return body


def _settled(body: dict[str, Any], api: ContainerApi, label: str) -> dict[str, Any] | None:
    """The status once Meta is done with the container (None while IN_PROGRESS); raises PublishError (permanent)
    with Meta's reason when processing failed."""
    state = body.get(api.status_field)
    if state == "IN_PROGRESS":
        return None
    if state == "ERROR":
        raise processing_failed(label, str(body.get(api.details_field) or ""))
    return body


def publish_video_container(
    adapter: PlatformAdapter,
    client: GraphClient,
    api: ContainerApi,
    *,
    idempotency_key: str,
    create: Callable[[], str],
    publish_path: str,
) -> PublishResult:
    """Publishes a single-video container: made once per delivery, polled without holding a worker, published
    once. Raises CheckAgainLater while Meta processes it, PublishError (permanent, Meta's reason) when it failed,
    PublishError (retry) when it expired (a new container is made next time)."""
    upload = PendingUpload.load(adapter.platform, idempotency_key)
    container_id = str(upload.state.get("media_id") or "")
    if not container_id:
        container_id = create()
        upload.save(media_id=container_id, check_after=CHECK_AFTER_SECONDS)
    status = wait_until_ready(
        lambda: _settled(_read(client, api, container_id), api, adapter.label),
        label=adapter.label,
        retry_after=CHECK_AFTER_SECONDS,
        interval=5.0,
    )
    if status.get(api.status_field) == "EXPIRED":
        upload.clear()
        raise PublishError(api.expired_message, permanent=False, code="container:EXPIRED")
    upload.save(post_sent=True)
    # The container is FINISHED: graph.publish_container's own checks and publish call, with no new container.
    result = publish_container(client, api, create=lambda: container_id, publish_path=publish_path)
    upload.clear()
    return result


def poll_container(
    adapter: PlatformAdapter, client: GraphClient, api: ContainerApi, upload: PendingUpload
) -> bool | None:
    """For reconcile: True when the saved container is done (FINISHED, or EXPIRED: the next attempt makes a new
    one), False when Meta could not process it, None while IN_PROGRESS or Meta could not be asked."""
    try:
        return True if _settled(_read(client, api, str(upload.state["media_id"])), api, adapter.label) else None
    except PublishError as error:
        return False if error.code == "video_processing_failed" else None
    except Exception:  # noqa: BLE001 - any other failure: ask again later
        return None
