"""The Spanish catalogue is complete, current with the code, and safe to compile: no untranslated or fuzzy
entry, the same placeholders and markup as the English, and exactly the strings the code marks today."""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from civicpost.catalogues import LOCALE_DIR, Entry, parse_po, unfinished, write_mo

SPANISH = LOCALE_DIR / "es" / "LC_MESSAGES" / "django.po"
ROOT = LOCALE_DIR.parent
# The same as the Makefile's `make messages`.
IGNORED = [".venv", "node_modules", "staticfiles", "tests", "bench", "htmlcov"]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]+\}|</?[a-z]+[^>]*>")


def _needs_gettext_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have GNU gettext's {name} (apt-get install gettext; .ci/run installs it).")
        pytest.skip(f"needs GNU gettext's {name}")
    return path


def _live(entries: list[Entry]) -> list[Entry]:
    return [entry for entry in entries if entry.msgid and not entry.obsolete]


def test_every_spanish_entry_is_translated_and_none_is_fuzzy() -> None:
    todo = unfinished(parse_po(SPANISH))
    assert not todo, "Translate these in locale/es/LC_MESSAGES/django.po (make messages lists them):\n" + "\n".join(
        f"{'fuzzy' if e.fuzzy else 'untranslated'}: {e.msgid[:100]!r}" for e in todo
    )


def test_translations_keep_the_placeholders_and_markup() -> None:
    problems = []
    for entry in _live(parse_po(SPANISH)):
        if entry.msgid_plural is None:
            pairs = [(entry.msgid, entry.msgstr[0])]
        else:
            # The singular may leave the number out ("La publicación que lo usa"); the plural keeps it.
            pairs = [(entry.msgid_plural, form) for form in entry.msgstr[1:]]
            if not set(PLACEHOLDER.findall(entry.msgstr[0])) <= set(PLACEHOLDER.findall(entry.msgid_plural)):
                problems.append(f"{entry.msgid!r}: singular has a placeholder English does not")
        for english, spanish in pairs:
            if sorted(PLACEHOLDER.findall(english)) != sorted(PLACEHOLDER.findall(spanish)):
                problems.append(f"{english!r} -> {spanish!r}")
    assert not problems, "\n".join(problems)


def test_spanish_uses_two_plural_forms() -> None:
    header = parse_po(SPANISH)[0].msgstr[0]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header
    for entry in _live(parse_po(SPANISH)):
        if entry.msgid_plural is not None:
            assert len(entry.msgstr) == 2, entry.msgid


def test_the_catalogue_has_exactly_the_strings_the_code_marks(tmp_path: Path, settings, monkeypatch) -> None:
    """Re-extracts every marked string (as `make messages` does) into a scratch catalogue and compares."""
    _needs_gettext_tool("xgettext")
    # A copy of the sources, so the committed catalogue is never touched (makemessages writes into the
    # `locale` folder of the tree it walks).
    source = tmp_path / "src"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(*IGNORED, "locale", ".git", "media", "docs", "__pycache__", "*.mo")
    )
    (source / "locale").mkdir()
    settings.LOCALE_PATHS = [source / "locale"]
    monkeypatch.chdir(source)
    call_command("makemessages", locale=["es"], ignore_patterns=IGNORED, no_obsolete=True, verbosity=0)
    fresh = {entry.key for entry in _live(parse_po(source / "locale" / "es" / "LC_MESSAGES" / "django.po"))}
    assert len(fresh) > 1000, "the extraction found almost nothing: is xgettext working?"
    committed = {entry.key for entry in _live(parse_po(SPANISH))}
    missing = sorted(msgid for _ctx, msgid in fresh - committed)
    stale = sorted(msgid for _ctx, msgid in committed - fresh)
    assert not missing and not stale, (
        "locale/es is out of date: run `make messages` and translate what it lists.\n"
        f"New in the code: {missing[:20]}\nNo longer in the code: {stale[:20]}"
    )


def test_gnu_msgfmt_accepts_the_catalogue_with_its_format_checks(tmp_path: Path) -> None:
    msgfmt = _needs_gettext_tool("msgfmt")
    result = subprocess.run(  # noqa: S603 - a fixed tool on a file of this repository
        [msgfmt, "--check", "-o", str(tmp_path / "es.mo"), str(SPANISH)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_pure_python_compiler_writes_what_gnu_msgfmt_writes(tmp_path: Path) -> None:
    msgfmt = _needs_gettext_tool("msgfmt")
    subprocess.run([msgfmt, "-o", str(tmp_path / "gnu.mo"), str(SPANISH)], check=True)  # noqa: S603
    write_mo(parse_po(SPANISH), tmp_path / "ours.mo")
    with (tmp_path / "gnu.mo").open("rb") as gnu_file, (tmp_path / "ours.mo").open("rb") as our_file:
        gnu, ours = gettext.GNUTranslations(gnu_file), gettext.GNUTranslations(our_file)
    # The header differs only in what msgfmt drops; every message is the same.
    assert {k: v for k, v in gnu._catalog.items() if k} == {k: v for k, v in ours._catalog.items() if k}  # type: ignore[attr-defined]
    assert ours.ngettext("%(n)s post", "%(n)s posts", 1) == "%(n)s post"


def test_the_compiler_leaves_out_fuzzy_and_untranslated_entries(tmp_path: Path) -> None:
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "Save"\nmsgstr "Guardar"\n\n'
        '#, fuzzy\nmsgid "Cancel"\nmsgstr "Cancelar"\n\n'
        'msgid "Delete"\nmsgstr ""\n\n'
        'msgctxt "month"\nmsgid "May"\nmsgstr "Mayo"\n\n'
        'msgid "%(n)s post"\nmsgid_plural "%(n)s posts"\n'
        'msgstr[0] "%(n)s publicación"\nmsgstr[1] "%(n)s publicaciones"\n',
        encoding="utf-8",
    )
    write_mo(parse_po(po), tmp_path / "django.mo")
    with (tmp_path / "django.mo").open("rb") as mo:
        catalogue = gettext.GNUTranslations(mo)
    assert catalogue.gettext("Save") == "Guardar"
    assert catalogue.gettext("Cancel") == "Cancel"
    assert catalogue.gettext("Delete") == "Delete"
    assert catalogue.pgettext("month", "May") == "Mayo"
    assert catalogue.ngettext("%(n)s post", "%(n)s posts", 3) == "%(n)s publicaciones"
