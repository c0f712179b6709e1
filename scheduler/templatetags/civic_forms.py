"""Render Django form widgets with USWDS classes and the ARIA links to their hint and error text."""

from __future__ import annotations

from django import template
from django.forms import BoundField, widgets
from django.forms.boundfield import BoundWidget
from django.utils.safestring import SafeString

register = template.Library()

# Most specific first: CheckboxSelectMultiple is a RadioSelect subclass, and both are Select subclasses.
WIDGET_CLASSES: list[tuple[type[widgets.Widget], str]] = [
    (widgets.CheckboxSelectMultiple, "usa-checkbox__input"),
    (widgets.RadioSelect, "usa-radio__input"),
    (widgets.CheckboxInput, "usa-checkbox__input"),
    (widgets.Select, "usa-select"),
    (widgets.Textarea, "usa-textarea"),
]
CHOICE_CLASSES = ("usa-radio__input", "usa-checkbox__input")


def widget_class(bound_field: BoundField) -> str:
    widget = bound_field.field.widget
    return next((css for widget_type, css in WIDGET_CLASSES if isinstance(widget, widget_type)), "usa-input")


def hint_id(bound_field: BoundField) -> str:
    return f"{bound_field.auto_id}-hint"


def error_id(bound_field: BoundField) -> str:
    return f"{bound_field.auto_id}-error"


def described_by(bound_field: BoundField) -> str:
    """Returns the ids a field's input is described by: its hint, then its error message."""
    ids = []
    if bound_field.help_text:
        ids.append(hint_id(bound_field))
    if bound_field.errors:
        ids.append(error_id(bound_field))
    return " ".join(ids)


@register.simple_tag
def usa_widget(bound_field: BoundField, extra_class: str = "", describedby: str = "") -> SafeString:
    """`{% usa_widget form.text %}` renders the input with its USWDS class, aria-describedby and
    aria-invalid; the field's own attributes (autocomplete, placeholder...) are kept. `describedby`
    adds the id of a shared hint (such as the time-zone note of a date and time pair)."""
    classes = [widget_class(bound_field)]
    if bound_field.errors and classes[0] not in CHOICE_CLASSES:
        classes.append("usa-input--error")
    if extra_class:
        classes.append(extra_class)
    attrs: dict[str, str | bool] = {"class": " ".join(classes)}
    description = " ".join(filter(None, [describedby, described_by(bound_field)]))
    if description:
        attrs["aria-describedby"] = description
    if bound_field.errors:
        attrs["aria-invalid"] = "true"
    return bound_field.as_widget(attrs=attrs)


@register.simple_tag
def usa_choice(choice: BoundWidget, bound_field: BoundField) -> SafeString:
    """`{% usa_choice choice field %}` renders one radio button or checkbox of a group with its USWDS class
    (usa-radio__input / usa-checkbox__input), which hides the browser's own control behind the USWDS one.
    Without it a form must remember to set that class on its widget, and the page shows both controls."""
    css = widget_class(bound_field)
    attrs = {name: value for name, value in choice.data["attrs"].items() if name != "checked"}
    classes = attrs.get("class", "").split()
    attrs["class"] = " ".join(classes if css in classes else [css, *classes])
    if choice.data["attrs"].get("checked"):
        attrs["checked"] = True  # last, where Django puts it
    context = {"widget": {**choice.data, "attrs": attrs, "wrap_label": False}}
    # Widget._render is Django's (forms/widgets.py); django-stubs does not declare it.
    return choice.parent_widget._render(  # type: ignore[attr-defined]  # noqa: SLF001
        choice.template_name, context, choice.renderer
    )


@register.filter
def field_hint_id(bound_field: BoundField) -> str:
    return hint_id(bound_field)


@register.filter
def field_error_id(bound_field: BoundField) -> str:
    return error_id(bound_field)


@register.filter
def field_described_by(bound_field: BoundField) -> str:
    return described_by(bound_field)


@register.filter
def field_kind(bound_field: BoundField) -> str:
    """Returns how a field is laid out: "checkbox", "radios", "checkboxes" (a fieldset) or "input"."""
    multiple = getattr(bound_field.field.widget, "allow_multiple_selected", False)
    return {
        "usa-checkbox__input": "checkboxes" if multiple else "checkbox",
        "usa-radio__input": "radios",
    }.get(widget_class(bound_field), "input")
