"""Captions files as SubRip, for the platforms whose captions upload takes SRT only (Facebook's captions edge,
LinkedIn's Videos API): SubRip passes unchanged; WebVTT loses its header, notes and cue settings, its cues are
numbered and its times written with hours and a comma."""

from __future__ import annotations

from scheduler.adapters.facebook.video import caption_locale
from scheduler.adapters.video import captions_as_srt

VTT = (
    "WEBVTT - City Council\r\n\r\n"
    "NOTE checked by the clerk\r\n\r\n"
    "intro\r\n00:00.000 --> 00:01.500 align:start line:90%\r\nWelcome to the splash pad.\r\n\r\n"
    "01:02:03.004 --> 01:02:05.000\r\nTwo lines\r\nof text.\r\n"
)


def test_webvtt_becomes_numbered_subrip_with_hours_and_commas():
    assert captions_as_srt(VTT.encode()) == (
        b"1\n00:00:00,000 --> 00:00:01,500\nWelcome to the splash pad.\n\n"
        b"2\n01:02:03,004 --> 01:02:05,000\nTwo lines\nof text.\n"
    )


def test_subrip_passes_unchanged():
    srt = b"1\n00:00:00,000 --> 00:00:01,000\nHello.\n"
    assert captions_as_srt(srt) == srt


def test_facebook_caption_locales_carry_a_territory():
    assert [caption_locale(code) for code in ("en", "es", "pt-BR", "de")] == ["en_US", "es_LA", "pt_BR", "de_DE"]
