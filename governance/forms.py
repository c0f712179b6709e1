"""Forms of the governance pages. They turn what a person typed into clean values; they write nothing.

Times are typed as a date and a wall-clock time in the person's zone (their first department's), and a
time that does not exist or happens twice (a daylight-saving change) is refused in words."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicpost import fields as civic_fields
from civicpost.fields import LocalTime, blackout_override_field, classify_local_time, post_link_field
from civicpost.languages import language_name
from civicpost.text import NormalizedTextFormMixin
from civicpost.timelabels import utc_offset_label
from departments.models import ApprovalMode, Department
from governance.models import EmergencyTemplate
from scheduler.blackouts import BlackoutRefused
from scheduler.models import Channel, ChannelStatus, ReleaseChoice

SAME_AS_ALL = ""


def local_moment(day: dt.date | None, clock: dt.time | None, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """Returns the UTC instant of a local date and time, or raises ValidationError when the time is skipped
    or repeated by a daylight-saving change. None when either part is missing."""
    if day is None or clock is None:
        return None
    naive = dt.datetime.combine(day, clock)
    kind = classify_local_time(naive, zone)
    if kind == LocalTime.MISSING:
        raise forms.ValidationError(
            _("That time does not exist on that day (the clocks move forward). Choose another.")
        )
    if kind == LocalTime.AMBIGUOUS:
        raise forms.ValidationError(_("That time happens twice on that day (the clocks go back). Choose another."))
    return naive.replace(tzinfo=zone).astimezone(dt.UTC)


def _zone_hint(zone: zoneinfo.ZoneInfo) -> str:
    now = dt.datetime.now(zone)
    return _("In %(zone)s (now %(offset)s).") % {"zone": zone.key, "offset": utc_offset_label(now)}


# --- Crisis holds ---------------------------------------------------------------------------------


class CrisisStartForm(NormalizedTextFormMixin, forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why everything is held"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Shown on every held post and on the calendar."),
    )
    departments = civic_fields.ModelMultipleChoiceField(
        label=gettext_lazy("Departments"),
        queryset=Department.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Leave every box empty to hold the whole city."),
    )


class _TimeFields(forms.Form):
    new_date = civic_fields.DateField(
        label=gettext_lazy("New date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    new_time = forms.TimeField(
        label=gettext_lazy("New time"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )

    def __init__(self, *args: Any, zone: zoneinfo.ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.fields["new_time"].help_text = _zone_hint(zone)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        try:
            data["new_due_at"] = local_moment(data.get("new_date"), data.get("new_time"), self.zone)
        except forms.ValidationError as error:
            self.add_error("new_time", error)
        return data


class _RescheduleFields(_TimeFields):
    """A new time, and the reason for a time inside a blackout for those who may override one (the view
    says who: scheduler.rules.can_override_blackout; the services decide)."""

    blackout_override_reason = blackout_override_field()

    def __init__(self, *args: Any, may_override_blackout: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.may_override_blackout = may_override_blackout
        if not may_override_blackout:
            del self.fields["blackout_override_reason"]

    @property
    def override_reason(self) -> str:
        return self.cleaned_data.get("blackout_override_reason", "")

    def add_blackout_refusal(self, error: BlackoutRefused) -> None:
        """Says why the time was refused: at the reason field when a reason would let it through."""
        needs_override = bool(error.extra.get("needs_override"))
        field = "blackout_override_reason" if needs_override and self.may_override_blackout else "new_time"
        for problem in error.problems:
            self.add_error(field, problem)


class CrisisEndForm(_RescheduleFields):
    """One choice for every held post, and a choice per post that overrides it."""

    choice = forms.ChoiceField(
        label=gettext_lazy("What happens to the held posts"),
        choices=ReleaseChoice.choices,
        widget=forms.RadioSelect,
        initial=ReleaseChoice.RELEASE,
    )

    def __init__(self, *args: Any, posts: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.posts = posts
        # Short words: the choices above explain each one, and a long option squeezes the post's text.
        per_post_choices = [
            (SAME_AS_ALL, _("As chosen above")),
            (ReleaseChoice.RELEASE, _("Release")),
            (ReleaseChoice.RESCHEDULE, _("Reschedule")),
            (ReleaseChoice.KEEP, _("Keep held")),
        ]
        for post in posts:
            self.fields[f"post_{post.pk}"] = forms.ChoiceField(
                label=post.text[:60], choices=per_post_choices, required=False
            )

    def per_post(self) -> dict[int, str]:
        return {
            post.pk: self.cleaned_data[f"post_{post.pk}"]
            for post in self.posts
            if self.cleaned_data.get(f"post_{post.pk}")
        }

    def post_fields(self) -> list[tuple[Any, Any]]:
        return [(post, self[f"post_{post.pk}"]) for post in self.posts]


class PostHoldReleaseForm(_RescheduleFields):
    choice = forms.ChoiceField(
        label=gettext_lazy("Release"),
        choices=[
            (ReleaseChoice.RELEASE, ReleaseChoice.RELEASE.label),
            (ReleaseChoice.RESCHEDULE, ReleaseChoice.RESCHEDULE.label),
        ],
        widget=forms.RadioSelect,
        initial=ReleaseChoice.RELEASE,
    )


# --- Emergency posts ------------------------------------------------------------------------------


class _ChannelsField(civic_fields.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Channel) -> str:
        return f"{obj.department.name}: {obj.display_name} ({obj.platform_label})"


class EmergencyForm(NormalizedTextFormMixin, _TimeFields):
    """Text per language (the city's languages), channels of every department, and an optional "all
    clear" follow-up submitted for approval."""

    channels = _ChannelsField(
        label=gettext_lazy("Channels"),
        queryset=Channel.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "Any department's connected channels. On Nextdoor the post goes out as an urgent alert; e-mail bulletin "
            "channels send it to their subscribers with “Urgent:” in the subject."
        ),
    )
    link = post_link_field()

    def __init__(self, *args: Any, template: EmergencyTemplate | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.template = template
        cast(_ChannelsField, self.fields["channels"]).queryset = (
            Channel.objects.filter(status=ChannelStatus.CONNECTED)
            .select_related("department")
            .defer("credentials")
            .order_by("department__name", "display_name")
        )
        for code, _name in settings.LANGUAGES:
            main = code == self.main_language
            initial = ""
            if template is not None:
                initial = template.text if main else template.translations.get(code, "")
            self.fields[f"text_{code}"] = forms.CharField(
                label=_("Text in %(language)s") % {"language": language_name(code)}
                + ("" if main else _(" (optional)")),
                required=main,
                initial=initial,
                widget=forms.Textarea(attrs={"rows": 5}),
                help_text=_("Replace every part in [brackets].") if initial and "[" in initial else "",
            )
            self.fields[f"follow_up_{code}"] = forms.CharField(
                label=_("“All clear” follow-up in %(language)s (optional)") % {"language": language_name(code)},
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
            )
        if template is not None and template.link:
            self.fields["link"].initial = template.link
        self.fields["new_date"].label = _("Date of the follow-up")
        self.fields["new_time"].label = _("Time of the follow-up")

    @property
    def main_language(self) -> str:
        return settings.LANGUAGES[0][0]

    def text_fields(self) -> list[Any]:
        return [self[f"text_{code}"] for code, _name in settings.LANGUAGES]

    def follow_up_fields(self) -> list[Any]:
        return [self[f"follow_up_{code}"] for code, _name in settings.LANGUAGES]

    def versions(self, prefix: str) -> list[tuple[str, str]]:
        return [(code, self.cleaned_data.get(f"{prefix}_{code}", "") or "") for code, _name in settings.LANGUAGES]


class EmergencyReviewForm(NormalizedTextFormMixin, forms.Form):
    notes = forms.CharField(
        label=gettext_lazy("Notes of the review"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Such as “Right call; the wording could name the cross streets.”"),
    )


class ApprovalStepForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name of the step"), max_length=100, help_text=gettext_lazy("Such as “Department review”.")
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("Who must approve"), choices=ApprovalMode.choices, widget=forms.RadioSelect, initial="any"
    )
    department_approvers = forms.BooleanField(label=gettext_lazy("Approvers of the department"), required=False)
    department_admins = forms.BooleanField(label=gettext_lazy("Admins of the department"), required=False)
    communications_managers = forms.BooleanField(label=gettext_lazy("Communications managers"), required=False)
    user_emails = forms.CharField(
        label=gettext_lazy("Named people"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Email addresses of their accounts, separated by commas or new lines."),
    )

    def clean_user_emails(self) -> list[Any]:
        emails = [e for e in re.split(r"[\s,;]+", self.cleaned_data["user_emails"]) if e]
        users = list(get_user_model().objects.filter(email__in=emails, is_active=True))
        found = {u.email.lower() for u in users}
        missing = [e for e in emails if e.lower() not in found]
        if missing:
            raise forms.ValidationError(
                _("No active account has these addresses: %(emails)s") % {"emails": ", ".join(missing)}
            )
        return users

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        named = data.get("user_emails") or []
        if (
            not (
                data.get("department_approvers")
                or data.get("department_admins")
                or data.get("communications_managers")
                or named
            )
            and "user_emails" not in self.errors
        ):
            raise forms.ValidationError(_("Say who approves this step."))
        return data
