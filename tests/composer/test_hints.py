"""Accessibility hints: advice, never a block."""

from __future__ import annotations

import pytest

from composer.hints import accessibility_hints, emoji_hints, hashtag_hints, image_only_hints, reading_grade, split_words


@pytest.mark.parametrize(
    ("tag", "words"),
    [
        ("citycouncil", ["city", "council"]),
        ("trashpickup", ["trash", "pickup"]),
        ("parks", None),  # one word: fine as it is
        ("recreation", None),
        ("nyc", None),  # not words: nothing to suggest
    ],
)
def test_lowercase_hashtags_are_split_into_dictionary_words(tag, words):
    assert split_words(tag) == words


def test_only_lowercase_multi_word_hashtags_are_flagged():
    hints = hashtag_hints("#citycouncil #CityCouncil #parks #CITYCOUNCIL meeting")
    assert [hint.message for hint in hints] == [
        "Write #citycouncil as #CityCouncil: with a capital letter for each word, screen readers read the words "
        "instead of spelling out one long one.",
        "Write #CITYCOUNCIL as #CityCouncil: with a capital letter for each word, screen readers read the words "
        "instead of spelling out one long one.",
    ]


def test_more_than_three_emoji_in_a_row():
    assert emoji_hints("Pool party 🎉🎉🎉 today") == []
    assert emoji_hints("Pool party 🎉 🎉 🏊‍♀️ 🇺🇸 today")[0].message.startswith("There are 4 emoji in a row.")
    assert emoji_hints("🎉🎉 two, then 🎉🎉 two") == []


def test_short_text_with_images_gets_the_information_only_in_an_image_reminder():
    assert image_only_hints("See the flyer", image_count=1)
    assert image_only_hints("See the flyer", image_count=0) == []
    long_text = "The pool at Lincoln Park opens on Saturday at 10 a.m. and closes at 6 p.m. every day this summer."
    assert image_only_hints(long_text, image_count=1) == []


def test_reading_grade_against_the_target():
    simple = "The pool opens at noon on Saturday. Bring a towel and some water. We will see you there."
    hard = (
        "The municipality will commence comprehensive infrastructure rehabilitation initiatives, necessitating "
        "temporary discontinuation of recreational facility accessibility."
    )
    assert reading_grade("Too short.") is None
    assert reading_grade(simple) < 8
    grade, hints = accessibility_hints(hard, image_count=0, language="en", target=8)
    assert grade > 12 and hints[-1].kind == "readability"
    assert accessibility_hints(hard, image_count=0, language="es", target=8) == (None, [])
