"""Every user-facing string is marked for translation: template text and the Python messages people read
(tests/i18n/marking.py says what counts). A new unmarked string fails here, naming file and text."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.i18n import marking


def test_every_template_text_is_marked_for_translation() -> None:
    findings = marking.all_template_findings()
    assert not findings, "Wrap these in {% translate %} / {% blocktranslate %}:\n" + "\n".join(map(str, findings))


def test_every_python_message_label_and_choice_is_marked_for_translation() -> None:
    findings = marking.all_python_findings()
    assert not findings, "Wrap these in gettext / gettext_lazy:\n" + "\n".join(map(str, findings))


# --- The detector itself finds what it must, and only that ----------------------------------------


def _template(tmp_path: Path, source: str) -> list[str]:
    path = tmp_path / "page.html"
    path.write_text(source, encoding="utf-8")
    original = marking.ROOT
    marking.ROOT = tmp_path
    try:
        return [finding.text for finding in marking.template_findings(path)]
    finally:
        marking.ROOT = original


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("<h1>Approvals queue</h1>", ["Approvals queue"]),
        ('<button aria-label="Close menu">×</button>', ['aria-label="Close menu"']),
        ('<img alt="City seal" src="x.png">', ['alt="City seal"']),
        ('<input type="submit" value="Save draft">', ['value="Save draft"']),
        ("<p>{{ post.title }} was approved</p>", ["was approved"]),
        ("<h{{ level }}>Heading</h{{ level }}>", ["Heading"]),
    ],
)
def test_the_detector_finds_unmarked_template_text(tmp_path: Path, source: str, found: list[str]) -> None:
    assert _template(tmp_path, "{% load i18n %}" + source) == found


@pytest.mark.parametrize(
    "source",
    [
        '<h1>{% translate "Approvals queue" %}</h1>',
        "<p>{% blocktranslate with n=count %}{{ n }} posts waiting{% endblocktranslate %}</p>",
        "<button aria-label=\"{% translate 'Close menu' %}\">×</button>",
        "<p>{{ post.text }} · {{ post.department }} — 42 %</p>",
        "<p>CivicPost · Facebook · USWDS</p>",
        "<pre><code>payload = Webhook(SECRET).verify(body)</code></pre>",
        "<script>var message = 'not for people';</script>",
        "{% comment %}A note for developers{% endcomment %}",
    ],
)
def test_the_detector_accepts_marked_text_variables_names_and_code(tmp_path: Path, source: str) -> None:
    assert _template(tmp_path, "{% load i18n %}" + source) == []


def _python(tmp_path: Path, source: str) -> list[str]:
    path = tmp_path / "module.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    original = marking.ROOT
    marking.ROOT = tmp_path
    try:
        return [finding.text for finding in marking.python_findings(path)]
    finally:
        marking.ROOT = original


def test_the_detector_finds_unmarked_python_messages(tmp_path: Path) -> None:
    found = _python(
        tmp_path,
        """
        messages.success(request, "Your draft was saved.")
        messages.add_message(request, messages.INFO, f"Moved to {when}.")
        raise ValidationError("Choose a channel.")
        raise ApplicationError("Nobody approves their own post.")
        text = forms.CharField(label="Text of the post", help_text="Write it plainly.")
        field = forms.ChoiceField(choices=[("a", "All channels")])

        class Status(models.TextChoices):
            DRAFT = "draft", "Draft"

        REQUIRED = "Every image needs alt text."
        problems.append(_(REQUIRED))
        """,
    )
    # ast.walk visits the class body before the calls of the module's other statements: compare as sets.
    assert sorted(found) == sorted(
        [
            "'Your draft was saved.'",
            "f'Moved to {when}.'",
            "'Choose a channel.'",
            "'Nobody approves their own post.'",
            "label='Text of the post'",
            "help_text='Write it plainly.'",
            "choice label 'All channels'",
            "choice label 'Draft'",
            "_(REQUIRED): mark REQUIRED with gettext_noop",
        ]
    )


def test_the_detector_accepts_gettext_calls_and_codes(tmp_path: Path) -> None:
    found = _python(
        tmp_path,
        """
        messages.success(request, _("Your draft was saved."))
        messages.info(request, _("Moved to %(when)s.") % {"when": when})
        raise ValidationError(_("Choose a channel."), code="required")
        raise ValidationError(message)
        text = forms.CharField(label=_("Text of the post"), help_text=gettext_lazy("Write it plainly."))
        field = forms.ChoiceField(choices=[("a", _("All channels")), ("b", "UTC")])

        class Status(models.TextChoices):
            DRAFT = "draft", _("Draft")

        REQUIRED = gettext_noop("Every image needs alt text.")
        problems.append(_(REQUIRED))
        """,
    )
    assert found == []
