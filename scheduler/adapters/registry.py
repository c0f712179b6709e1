"""Finds a platform's adapter and its connect flow by platform name: the built-in ones (one package per
platform under scheduler/adapters/) and any installed package that declares an entry point in the
`civicpost.adapters` group (a city's in-house adapter, say).

A platform package holds `adapter.py` with one PlatformAdapter subclass whose `platform` is the name, and,
when department admins can connect it, `connect.py` with `FLOW`, its ConnectFlow. Looking one platform up
imports only that platform's package."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, Protocol, cast

from scheduler.adapters.base import ChannelAccount, ConnectFlow, PlatformAdapter

# Platform name -> its package. The order is the order of the connect page.
BUILT_IN_PLATFORMS: dict[str, str] = {
    "x": "scheduler.adapters.x",
    "facebook": "scheduler.adapters.facebook",
    "instagram": "scheduler.adapters.instagram",
    "threads": "scheduler.adapters.threads",
    "mastodon": "scheduler.adapters.mastodon",
    "bluesky": "scheduler.adapters.bluesky",
    "webhook": "scheduler.adapters.webhook",
    "feed": "scheduler.adapters.feed",
    "sandbox": "scheduler.adapters.sandbox",
}

ENTRY_POINT_GROUP = "civicpost.adapters"


class UnknownPlatform(LookupError):
    pass


class ChannelRow(Protocol):
    """What `adapter_for_channel` reads of a `scheduler.models.Channel`, without importing the model."""

    @property
    def pk(self) -> Any: ...
    @property
    def display_name(self) -> str: ...
    @property
    def account_handle(self) -> str: ...
    @property
    def credentials(self) -> Mapping[str, Any]: ...
    @property
    def options(self) -> Mapping[str, Any]: ...
    @property
    def platform(self) -> str: ...


def _adapter_in(package: str, platform: str) -> type[PlatformAdapter]:
    module = import_module(f"{package}.adapter")
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, PlatformAdapter)
            and value.__module__ == module.__name__
            and getattr(value, "platform", None) == platform
        ):
            return value
    raise UnknownPlatform(f"{package}.adapter defines no adapter for the platform {platform!r}.")


@cache
def _entry_point_adapters() -> dict[str, type[PlatformAdapter]]:
    classes: dict[str, type[PlatformAdapter]] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        adapter_class = cast(type[PlatformAdapter], entry_point.load())
        classes.setdefault(adapter_class.platform, adapter_class)
    return classes


@cache
def adapter_classes() -> dict[str, type[PlatformAdapter]]:
    """Returns every known adapter class keyed by platform name (imports them all)."""
    classes = {name: _adapter_in(package, name) for name, package in BUILT_IN_PLATFORMS.items()}
    for name, adapter_class in _entry_point_adapters().items():
        classes.setdefault(name, adapter_class)
    return classes


@cache
def get_adapter_class(platform: str) -> type[PlatformAdapter]:
    """Returns one platform's adapter class, importing only that package (some client libraries take
    seconds to import, and a worker publishing to Mastodon should not pay for Bluesky's)."""
    if platform in BUILT_IN_PLATFORMS:
        return _adapter_in(BUILT_IN_PLATFORMS[platform], platform)
    try:
        return adapter_classes()[platform]
    except KeyError as error:
        raise UnknownPlatform(f"No adapter is installed for the platform {platform!r}.") from error


def _platform_package(platform: str) -> str:
    if platform in BUILT_IN_PLATFORMS:
        return BUILT_IN_PLATFORMS[platform]
    # An installed adapter's flow sits beside it: <its package>.connect.
    return get_adapter_class(platform).__module__.rpartition(".")[0]


@cache
def get_connect_flow(platform: str) -> ConnectFlow:
    """Returns the platform's connect flow. Raises UnknownPlatform when there is no adapter or the
    platform cannot be connected by a department admin (the Sandbox)."""
    package = _platform_package(platform)
    try:
        module = import_module(f"{package}.connect")
    except ModuleNotFoundError as error:
        if error.name != f"{package}.connect":
            raise
        raise UnknownPlatform(f"The platform {platform!r} has no connect flow.") from error
    return cast(ConnectFlow, module.FLOW)


def connectable_platforms() -> list[str]:
    """Platforms with both an adapter and a connect flow, in the order of the connect page."""
    names: list[str] = []
    for name in adapter_classes():
        try:
            get_connect_flow(name)
        except UnknownPlatform:
            continue
        names.append(name)
    return names


def platform_label(platform: str) -> str:
    try:
        return get_adapter_class(platform).label
    except UnknownPlatform:
        return platform


def platform_choices() -> list[tuple[str, str]]:
    return sorted(((name, cls.label) for name, cls in adapter_classes().items()), key=lambda item: item[1])


def adapter_for_channel(channel: ChannelRow) -> PlatformAdapter:
    """Builds the adapter for a channel, with its credentials decrypted in memory only."""
    account = ChannelAccount(
        channel_id=channel.pk,
        display_name=channel.display_name,
        handle=channel.account_handle,
        credentials=dict(channel.credentials),
        options=dict(channel.options),
    )
    return get_adapter_class(channel.platform)(account)
