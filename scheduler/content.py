"""What a post says, per channel and per language: the pieces of the approval snapshot that the composer
added (per-channel text, media, language versions), and where each language version goes.

Pure functions over the snapshot dict; scheduler.services builds the snapshot and owns the writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.utils.translation import gettext as _

from civicpost.languages import channel_language, language_name
from departments.models import LanguagePublishing


def clean_channel_text(channel_text: dict[str, str] | None, channel_ids: Iterable[int]) -> dict[str, str]:
    """Returns only the per-channel versions that say something, for channels that are chosen."""
    chosen = {str(pk) for pk in channel_ids}
    return {key: text for key, text in sorted((channel_text or {}).items()) if key in chosen and text.strip()}


def languages_snapshot(
    languages: dict[str, dict[str, Any]] | None, *, channel_ids: Sequence[int], media_asset_ids: Sequence[int]
) -> dict[str, dict[str, Any]]:
    """Returns the snapshot's `languages`: {code: {"text", "channel_text"?, "media_alt"?}}. `media_alt` is
    a list in the order of the post's media (the alt text written in that language for each file)."""
    snapshot: dict[str, dict[str, Any]] = {}
    for code, version in sorted((languages or {}).items()):
        entry: dict[str, Any] = {"text": str(version.get("text", ""))}
        channel_text = clean_channel_text(version.get("channel_text"), channel_ids)
        if channel_text:
            entry["channel_text"] = channel_text
        if media_asset_ids:
            alts = version.get("media_alt") or {}
            entry["media_alt"] = [str(alts.get(str(asset_id), "")).strip() for asset_id in media_asset_ids]
        snapshot[code] = entry
    return snapshot


def delivery_targets(*, content: dict[str, Any], channels: Iterable[Any], publishing: str) -> list[tuple[Any, str]]:
    """Returns (channel, language) for every post the snapshot makes.

    same_channel: every language version goes to every chosen channel, as its own post.
    language_channels: a channel set to a language (options["language"]) gets that language's version
    only; a channel with no language set gets the main language. A channel whose language the post does
    not have gets nothing (post_problems refuses such a post before it can be approved)."""
    main = content.get("language", "en")
    others = sorted(content.get("languages", {}))
    targets: list[tuple[Any, str]] = []
    for channel in channels:
        if publishing == LanguagePublishing.LANGUAGE_CHANNELS:
            language = channel_language(channel) or main
            if language == main or language in others:
                targets.append((channel, language))
        else:
            targets.append((channel, main))
            targets.extend((channel, code) for code in others)
    return targets


def language_version_problems(
    *, languages: dict[str, dict[str, Any]], department_languages: Sequence[str], media_asset_ids: Sequence[int]
) -> list[str]:
    """Returns why language versions are not ready. One unfinished version holds the whole post."""
    problems = []
    for code, version in sorted(languages.items()):
        name = language_name(code)
        reasons = []
        if code not in department_languages:
            reasons.append(_("%(language)s is not one of the department's languages.") % {"language": name})
        if not str(version.get("text", "")).strip():
            reasons.append(_("it has no text yet."))
        if not version.get("reviewed"):
            reasons.append(_("nobody has confirmed that a person wrote or checked it."))
        alts = version.get("media_alt") or {}
        if any(not str(alts.get(str(asset_id), "")).strip() for asset_id in media_asset_ids):
            reasons.append(_("every image needs alt text in %(language)s too.") % {"language": name})
        if reasons:
            problems.append(
                _(
                    "The %(language)s version is not ready: %(reasons)s The whole post waits until every language "
                    "version is ready."
                )
                % {"language": name, "reasons": " ".join(reasons)}
            )
    return problems


def target_problems(*, content: dict[str, Any], channels: Sequence[Any], publishing: str) -> list[str]:
    """Returns problems of language-specific channels: a channel set to a language the post lacks, or a
    language version that no chosen channel would publish."""
    if publishing != LanguagePublishing.LANGUAGE_CHANNELS:
        return []
    main = content.get("language", "en")
    others = set(content.get("languages", {}))
    problems = []
    covered = set()
    for channel in channels:
        language = channel_language(channel) or main
        covered.add(language)
        if language != main and language not in others:
            problems.append(
                _("%(channel)s publishes in %(language)s: add a %(language)s version or leave that channel out.")
                % {"channel": channel.display_name, "language": language_name(language)}
            )
    for code in sorted(others - covered):
        problems.append(
            _("No chosen channel publishes in %(language)s: choose a %(language)s channel, or remove that version.")
            % {"language": language_name(code)}
        )
    return problems
