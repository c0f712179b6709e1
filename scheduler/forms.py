"""Forms turn what a person typed into clean values for the services; they write nothing.

Times are typed as a date and a wall-clock time in the department's zone. A wall-clock time can be
missing (clocks jump forward) or happen twice (clocks go back); both are caught here, in words,
and for the second the person picks which of the two they mean (PEP 495 `fold`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from enum import Enum
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from departments.models import Department
from departments.selectors import departments_user_can_post_for
from scheduler.models import Channel, Post
from scheduler.selectors import channels_for_user
from scheduler.templatetags.civic_time import clock_label, date_label, utc_offset_label

EARLIER = "earlier"
LATER = "later"


class LocalTime(Enum):
    EXISTS = "exists"
    MISSING = "missing"  # in the spring-forward gap
    AMBIGUOUS = "ambiguous"  # in the fall-back fold


def classify_local_time(naive: dt.datetime, zone: zoneinfo.ZoneInfo) -> LocalTime:
    """Returns whether a wall-clock time exists once, never, or twice in the zone."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return LocalTime.EXISTS
    round_trip = first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    return LocalTime.AMBIGUOUS if round_trip == naive else LocalTime.MISSING


def fold_choice_label(naive: dt.datetime, zone: zoneinfo.ZoneInfo, fold: int) -> str:
    moment = naive.replace(tzinfo=zone, fold=fold)
    if fold == 0:
        return _("Earlier (%(abbr)s, %(offset)s): %(time)s before the clocks go back") % {
            "abbr": moment.tzname(),
            "offset": utc_offset_label(moment),
            "time": clock_label(moment),
        }
    return _("Later (%(abbr)s, %(offset)s): %(time)s after the clocks go back") % {
        "abbr": moment.tzname(),
        "offset": utc_offset_label(moment),
        "time": clock_label(moment),
    }


class DepartmentSelect(forms.Select):
    """A select whose options carry the department's time zone, shown next to the time fields."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-zone"] = instance.time_zone
        return option


class ChannelChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Channel) -> str:
        return f"{obj.display_name} ({obj.platform_label})"


class PostForm(forms.Form):
    """Compose or edit a post. Pass `post` to edit (its department cannot change)."""

    department = forms.ModelChoiceField(
        queryset=Department.objects.none(),
        label=gettext_lazy("Department"),
        widget=DepartmentSelect(attrs={"data-department-select": ""}),
        empty_label=gettext_lazy("- Choose a department -"),
        error_messages={
            "required": gettext_lazy("Choose the department this post is for."),
            "invalid_choice": gettext_lazy("You can only post for departments you belong to."),
        },
    )
    text = forms.CharField(
        label=gettext_lazy("Text of the post"),
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": gettext_lazy("Write the text of the post.")},
    )
    link = forms.URLField(
        label=gettext_lazy("Link (optional)"),
        required=False,
        assume_scheme="https",
        max_length=500,
        help_text=gettext_lazy("A web address to share with the post, such as https://www.example.gov/parks."),
        error_messages={"invalid": gettext_lazy("Enter a full web address, such as https://www.example.gov/parks.")},
    )
    channels = ChannelChoiceField(
        queryset=Channel.objects.none(),
        label=gettext_lazy("Channels"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": gettext_lazy("Choose at least one channel."),
            "invalid_choice": gettext_lazy(
                "One of the chosen channels does not belong to your department. Choose only your department's "
                "own channels."
            ),
            "invalid_pk_value": gettext_lazy("Choose channels from the list."),
        },
    )
    publish_date = forms.DateField(
        label=gettext_lazy("Date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={
            "required": gettext_lazy("Choose the date to publish."),
            "invalid": gettext_lazy("Enter the date as year-month-day, such as 2026-12-05."),
        },
    )
    publish_time = forms.TimeField(
        label=gettext_lazy("Time"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        input_formats=["%H:%M", "%H:%M:%S"],
        error_messages={
            "required": gettext_lazy("Choose the time to publish."),
            "invalid": gettext_lazy("Enter the time as hours and minutes, such as 14:30."),
        },
    )
    fold = forms.ChoiceField(
        label=gettext_lazy("Which one do you mean?"),
        required=False,
        widget=forms.RadioSelect(attrs={"class": "usa-radio__input"}),
        choices=[(EARLIER, gettext_lazy("Earlier")), (LATER, gettext_lazy("Later"))],
    )

    def __init__(self, *args: Any, user: AbstractBaseUser, post: Post | None = None, **kwargs: Any) -> None:
        self.user = user
        self.post = post
        self.show_fold = False
        if post is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(post)
        super().__init__(*args, **kwargs)
        departments = departments_user_can_post_for(user=user)
        self.departments = departments
        if post is not None:
            del self.fields["department"]
            self.fixed_department: Department | None = post.department
        else:
            self.fixed_department = None
            department_field = self.fields["department"]
            department_field.queryset = Department.objects.filter(pk__in=[d.pk for d in departments])
            if len(departments) == 1:
                department_field.empty_label = None
                department_field.initial = departments[0].pk
        channels = channels_for_user(user=user)
        if post is not None:
            channels = channels.filter(department=post.department)
        self.fields["channels"].queryset = channels.order_by("department__name", "display_name")
        self.fields["channels"].widget.attrs["class"] = "usa-checkbox__input"
        if not self.is_bound and post is not None:
            self._prepare_fold_from_initial()

    @staticmethod
    def initial_for(post: Post) -> dict[str, Any]:
        local = post.due_at.astimezone(post.department.zone)
        return {
            "text": post.text,
            "link": post.link,
            "channels": [channel.pk for channel in post.channels.all()],
            "publish_date": local.date(),
            "publish_time": local.time().replace(tzinfo=None, fold=0),
            "fold": LATER if local.fold else EARLIER,
        }

    def _prepare_fold_from_initial(self) -> None:
        department = self.fixed_department
        date, time = self.initial.get("publish_date"), self.initial.get("publish_time")
        if department is None or date is None or time is None:
            return
        naive = dt.datetime.combine(date, time)
        if classify_local_time(naive, department.zone) is LocalTime.AMBIGUOUS:
            self._offer_fold(naive, department.zone)

    def _offer_fold(self, naive: dt.datetime, zone: zoneinfo.ZoneInfo) -> None:
        self.show_fold = True
        self.fields["fold"].label = _("Which %(time)s do you mean?") % {"time": clock_label(naive)}
        self.fields["fold"].choices = [
            (EARLIER, fold_choice_label(naive, zone, 0)),
            (LATER, fold_choice_label(naive, zone, 1)),
        ]

    @property
    def department_choices_with_zones(self) -> list[Department]:
        """The departments this person posts for, to explain which time zone applies."""
        return [self.fixed_department] if self.fixed_department else self.departments

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        department = self.fixed_department or cleaned.get("department")
        if department is None:
            return cleaned
        channels = cleaned.get("channels")
        if channels:
            foreign = [channel for channel in channels if channel.department_id != department.pk]
            if foreign:
                self.add_error(
                    "channels",
                    _(
                        "%(channels)s belongs to %(other)s, not to %(department)s. "
                        "Choose only channels of %(department)s."
                    )
                    % {
                        "channels": ", ".join(channel.display_name for channel in foreign),
                        "other": foreign[0].department.name,
                        "department": department.name,
                    },
                )
        date, time = cleaned.get("publish_date"), cleaned.get("publish_time")
        if date is not None and time is not None:
            cleaned["due_at"] = self._due_at(dt.datetime.combine(date, time), department, cleaned.get("fold") or "")
        return cleaned

    def _due_at(self, naive: dt.datetime, department: Department, fold: str) -> dt.datetime | None:
        zone = department.zone
        kind = classify_local_time(naive, zone)
        when = {"time": clock_label(naive), "date": date_label(naive), "zone": department.time_zone}
        if kind is LocalTime.MISSING:
            suggestion = naive.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone)
            self.add_error(
                "publish_time",
                _(
                    "%(time)s does not exist on %(date)s in %(zone)s: the clocks jump forward that night for "
                    "daylight saving time. Choose another time, such as %(suggestion)s."
                )
                % {**when, "suggestion": clock_label(suggestion)},
            )
            return None
        if kind is LocalTime.AMBIGUOUS:
            self._offer_fold(naive, zone)
            if fold not in (EARLIER, LATER):
                self.add_error(
                    "fold",
                    _(
                        "%(time)s happens twice on %(date)s in %(zone)s, because the clocks go back one hour that "
                        "night. Choose which %(time)s you mean."
                    )
                    % when,
                )
                return None
            due_at = naive.replace(tzinfo=zone, fold=1 if fold == LATER else 0)
        else:
            due_at = naive.replace(tzinfo=zone)
        due_at = due_at.astimezone(dt.UTC)
        if due_at <= timezone.now():
            self.add_error(
                "publish_time",
                _("%(time)s on %(date)s has already passed in %(zone)s. Choose a time in the future.") % when,
            )
            return None
        return due_at

    def service_arguments(self) -> dict[str, Any]:
        """Returns the keyword arguments for post_create / post_update."""
        arguments = {
            "text": self.cleaned_data["text"],
            "link": self.cleaned_data["link"],
            "channels": list(self.cleaned_data["channels"]),
            "due_at": self.cleaned_data["due_at"],
        }
        if self.fixed_department is None:
            arguments["department"] = self.cleaned_data["department"]
        return arguments


class ReviewForm(forms.Form):
    """An approver's decision. The comment is required to request changes, optional to approve."""

    comment = forms.CharField(
        label=gettext_lazy("Comment for the author"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Required when you request changes: say what should change."),
    )

    def __init__(self, *args: Any, require_comment: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.require_comment = require_comment

    def clean_comment(self) -> str:
        comment = self.cleaned_data["comment"].strip()
        if self.require_comment and not comment:
            raise forms.ValidationError(_("Say what should change, so the author knows what to fix."))
        return comment


class CancelForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("Reason (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
