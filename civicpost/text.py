"""Clean text that people type or paste, once, before it is stored (and again before it is put into XML).

Word inserts U+000B for Shift+Enter, copy-paste brings in stray control characters, a JSON client can
send lone surrogates: none of these is text anyone meant to publish, and XML 1.0 (RSS, Atom) cannot
carry them at all. Imports nothing of the project, so every app can use it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, TypeVar

# Line breaks that are not "\n": Windows and old Mac endings, Word's Shift+Enter (VT), form feed, NEL and
# the Unicode line/paragraph separators. Dropping them would join the words on either side, so they become
# "\n". Python's str.splitlines() treats the same characters as line ends.
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
# Every other C0 and C1 control except tab and newline, DEL, lone surrogates, and the two
# noncharacters XML 1.0 refuses (U+FFFE, U+FFFF).
_UNWANTED = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"[\t\n]+")

T = TypeVar("T")


def normalize_text(value: str, *, single_line: bool = False) -> str:
    """Returns `value` as CivicPost stores it: line breaks as "\\n", tabs kept, every other control
    character and lone surrogate removed, composed to Unicode NFC ("e" + combining accent becomes "é").

    single_line=True (names, titles, one-line fields) also turns line breaks and tabs into one space.
    Leading and trailing white space is left alone: whether to strip it is the field's decision."""
    if not isinstance(value, str) or not value:
        return value
    value = _UNWANTED.sub("", _LINE_BREAKS.sub("\n", value))
    if single_line:
        value = _SPACES.sub(" ", value)
    return unicodedata.normalize("NFC", value)


def normalize_text_tree(value: T) -> T:
    """Returns `value` with normalize_text applied to every string inside it (dict values and keys, list
    and tuple items, recursively), for JSON fields such as per-channel and language versions."""
    if isinstance(value, str):
        return normalize_text(value)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {normalize_text_tree(key): normalize_text_tree(item) for key, item in value.items()}  # type: ignore[return-value]
    if isinstance(value, list):
        return [normalize_text_tree(item) for item in value]  # type: ignore[return-value]
    if isinstance(value, tuple):
        return tuple(normalize_text_tree(item) for item in value)  # type: ignore[return-value]
    return value


def normalize_form_data(data: Any) -> Any:
    """Returns a copy of submitted form data (QueryDict or dict) with normalize_text applied to every text
    value; files and other values are left as they are. None stays None (an unbound form)."""
    if data is None:
        return None
    if hasattr(data, "lists") and hasattr(data, "setlist"):
        normalized = data.copy()
        for key, values in data.lists():
            normalized.setlist(key, [normalize_text(value) if isinstance(value, str) else value for value in values])
        return normalized
    if isinstance(data, dict):
        return {key: normalize_text(value) if isinstance(value, str) else value for key, value in data.items()}
    return data


class NormalizedTextFormMixin:
    """Put first in the bases of a form whose fields people type into: what was typed is normalised
    (normalize_text) before the fields clean it, so length checks count what will be stored and a form
    shown again shows the stored text. The services normalise again; this is so the person sees it.
    Not for forms that carry passwords or secrets people type (they must reach the check byte for byte)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "data" in kwargs:
            kwargs["data"] = normalize_form_data(kwargs["data"])
        elif args:
            args = (normalize_form_data(args[0]), *args[1:])
        super().__init__(*args, **kwargs)
