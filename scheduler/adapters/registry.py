"""Finds adapters by platform name: the built-in ones and any installed package that declares an
entry point in the `civicpost.adapters` group (a city's in-house adapter, say)."""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.metadata import entry_points

from scheduler.adapters.base import ChannelAccount, PlatformAdapter

BUILT_IN_ADAPTERS = {
    "sandbox": "scheduler.adapters.sandbox.adapter.SandboxAdapter",
    "mastodon": "scheduler.adapters.mastodon.adapter.MastodonAdapter",
    "bluesky": "scheduler.adapters.bluesky.adapter.BlueskyAdapter",
    "feed": "scheduler.adapters.feed.adapter.FeedAdapter",
    "x": "scheduler.adapters.x.adapter.XAdapter",
    "webhook": "scheduler.adapters.webhook.adapter.WebhookAdapter",
    "facebook": "scheduler.adapters.facebook.adapter.FacebookPageAdapter",
    "instagram": "scheduler.adapters.instagram.adapter.InstagramAdapter",
    "threads": "scheduler.adapters.threads.adapter.ThreadsAdapter",
}

ENTRY_POINT_GROUP = "civicpost.adapters"


class UnknownPlatform(LookupError):
    pass


def _load(dotted: str) -> type[PlatformAdapter]:
    module_name, _, class_name = dotted.rpartition(".")
    return getattr(import_module(module_name), class_name)


@cache
def adapter_classes() -> dict[str, type[PlatformAdapter]]:
    """Returns every known adapter class keyed by platform name (imports them all)."""
    classes = {name: _load(path) for name, path in BUILT_IN_ADAPTERS.items()}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        adapter_class = entry_point.load()
        classes.setdefault(adapter_class.platform, adapter_class)
    return classes


@cache
def get_adapter_class(platform: str) -> type[PlatformAdapter]:
    """Returns one platform's adapter class, importing only that module (some client libraries take
    seconds to import, and a worker publishing to Mastodon should not pay for Bluesky's)."""
    if platform in BUILT_IN_ADAPTERS:
        return _load(BUILT_IN_ADAPTERS[platform])
    try:
        return adapter_classes()[platform]
    except KeyError as error:
        raise UnknownPlatform(f"No adapter is installed for the platform {platform!r}.") from error


def platform_label(platform: str) -> str:
    try:
        return get_adapter_class(platform).label
    except UnknownPlatform:
        return platform


def platform_choices() -> list[tuple[str, str]]:
    return sorted(((name, cls.label) for name, cls in adapter_classes().items()), key=lambda item: item[1])


def adapter_for_channel(channel) -> PlatformAdapter:  # noqa: ANN001 - scheduler.models.Channel
    """Builds the adapter for a channel, with its credentials decrypted in memory only."""
    account = ChannelAccount(
        channel_id=channel.pk,
        display_name=channel.display_name,
        handle=channel.account_handle,
        credentials=dict(channel.credentials),
        options=dict(channel.options),
    )
    return get_adapter_class(channel.platform)(account)
