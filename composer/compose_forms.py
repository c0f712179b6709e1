"""The compose and edit form: what a person typed into a post, clean for scheduler.services.

Dates and times are read by civicpost.fields.LocalTimeMixin (safe across daylight saving changes).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicpost import fields as civic_fields
from civicpost.fields import (
    EARLIER,
    LATER,
    DepartmentSelect,
    LocalTime,
    LocalTimeMixin,
    blackout_override_field,
    classify_local_time,
    fold_field,
    post_link_field,
    publish_date_field,
    publish_time_field,
)
from civicpost.languages import language_name
from civicpost.text import NormalizedTextFormMixin
from departments.models import Department
from departments.selectors import departments_user_can_post_for
from medialibrary.models import MediaAsset
from scheduler import rules
from scheduler.models import Channel, Post
from scheduler.selectors import channels_for_user
from scheduler.threads import MAX_THREAD_PARTS

UPLOAD_ACCEPT = "image/jpeg,image/png,image/webp,image/gif,video/mp4,video/quicktime,.mov,application/pdf,.pdf"
LIBRARY_CHOICES = 50


class ChannelChoiceField(civic_fields.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Channel) -> str:
        return f"{obj.display_name} ({obj.platform_label})"


class PostForm(NormalizedTextFormMixin, LocalTimeMixin, forms.Form):
    """Compose or edit a post. Pass `post` to edit (its department cannot change).

    Besides the main text, the form carries per-channel versions (`channel_text_<channel id>`), the
    attached media in order (`media`, repeated) with their alt text (`alt_<asset id>`), and a version
    per other language of the department (`lang_<code>_text`, `lang_<code>_reviewed`,
    `lang_<code>_channel_<channel id>`, `lang_<code>_alt_<asset id>`). `lenient` relaxes what a live
    check or an autosave needs (no text, channel or time required yet; a past time is kept)."""

    # The instance attribute is the department the post is for (set in __init__); the form metaclass
    # moves the declared field below into base_fields, which mypy cannot see.
    department: Department | None
    department = civic_fields.ModelChoiceField(  # type: ignore[assignment]  # see above
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
        widget=forms.Textarea(attrs={"rows": 6, "data-composer-text": ""}),
        error_messages={"required": gettext_lazy("Write the text of the post.")},
    )
    link = post_link_field(
        help_text=gettext_lazy("A web address to share with the post, such as https://www.example.gov/parks.")
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
    publish_date = publish_date_field()
    publish_time = publish_time_field()
    fold = fold_field()
    # Adding media without leaving the page: the file is checked and stored in the department's library
    # when the form comes back (with "Upload and attach" or with a save), and attached in order.
    upload = forms.FileField(
        label=gettext_lazy("Image or video file"),
        required=False,
        help_text=gettext_lazy(
            "JPEG, PNG, WebP or GIF images up to 15 MB, MP4 or MOV video, "
            "or a PDF document up to 100 MB (LinkedIn only)."
        ),
        widget=forms.FileInput(attrs={"accept": UPLOAD_ACCEPT}),
    )
    upload_alt = forms.CharField(
        label=gettext_lazy("Alt text for this file"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "Say what the image shows, for residents who cannot see it. You can also add it later. "
            "For a PDF document, write its title here (required)."
        ),
    )
    upload_captions = forms.FileField(
        label=gettext_lazy("Captions file for a video (WebVTT or SRT, optional)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": ".vtt,.srt,text/vtt"}),
    )
    upload_transcript = forms.CharField(
        label=gettext_lazy("Transcript for a video (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    upload_captions_burned_in = forms.BooleanField(
        label=gettext_lazy("The video's captions are burned into the picture"),
        required=False,
        help_text=gettext_lazy("Instead of a captions file. Your name and the time are recorded."),
    )
    library_pick = forms.ChoiceField(label=gettext_lazy("Or pick a file from the media library"), required=False)
    # Threads of posts (scheduler/threads.py): how many parts the thread has (1: a plain post); the parts after
    # the first are `thread_part_<n>` fields, added and removed with the "thread_action" buttons.
    thread_count = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_THREAD_PARTS,
        widget=forms.HiddenInput(attrs={"data-thread-count": ""}),
    )
    first_comment = forms.CharField(
        label=gettext_lazy("First comment (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Published as a comment on the post right after it, on Facebook, Instagram and LinkedIn: for example "
            "the link, or the details that would make the post too long."
        ),
    )
    draft_key = forms.CharField(required=False, widget=forms.HiddenInput(attrs={"data-draft-key": ""}))
    # Shown to those who may schedule into a blackout (approvers); the services decide (scheduler/blackouts.py).
    blackout_override_reason = blackout_override_field()

    def __init__(
        self,
        data: Any = None,
        files: Any = None,
        *,
        user: User,
        post: Post | None = None,
        media_ids: list[int] | None = None,
        lenient: bool = False,
        **kwargs: Any,
    ) -> None:
        self.user = user
        self.post = post
        self.lenient = lenient
        self.show_fold = False
        if post is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(post)
        super().__init__(data, files, **kwargs)
        if not self.initial.get("draft_key"):
            self.initial["draft_key"] = uuid.uuid4().hex
        departments = departments_user_can_post_for(user=user)
        self.departments = departments
        if post is not None:
            del self.fields["department"]
            self.fixed_department: Department | None = post.department
        else:
            self.fixed_department = None
            department_field = cast("forms.ModelChoiceField[Department]", self.fields["department"])
            department_field.queryset = Department.objects.filter(pk__in=[d.pk for d in departments])
            if len(departments) == 1:
                department_field.empty_label = None
                department_field.initial = departments[0].pk
        self.department = self._effective_department()
        self.may_override_blackout = any(
            rules.can_override_blackout(user, department.pk)
            for department in ([self.fixed_department] if self.fixed_department else departments)
        )
        channels = channels_for_user(user=user)
        if post is not None:
            channels = channels.filter(department=post.department)
        channels = channels.order_by("department__name", "display_name")
        self.fields["channels"].queryset = channels
        self.fields["channels"].widget.attrs["class"] = "usa-checkbox__input"
        self.channel_list = list(channels)
        if lenient:
            for name in ("text", "channels", "publish_date", "publish_time"):
                self.fields[name].required = False
        self._add_channel_text_fields()
        self._add_thread_fields()
        self._add_media_fields(media_ids)
        self._add_language_fields()
        self._set_library_choices()
        if not self.is_bound and post is not None:
            self._prepare_fold_from_initial()

    # --- Building the dynamic fields -----------------------------------------------------------------

    def _value(self, name: str) -> Any:
        if self.is_bound:
            return self.data.get(name)
        return self.initial.get(name)

    def _effective_department(self) -> Department | None:
        """The department whose channels, library and languages apply (None: several, none chosen yet)."""
        if self.fixed_department is not None:
            return self.fixed_department
        chosen = str(self._value("department") or "")
        for department in self.departments:
            if str(department.pk) == chosen:
                return department
        return self.departments[0] if len(self.departments) == 1 else None

    @property
    def main_language(self) -> str:
        if self.post is not None:
            return self.post.language
        return self.department.main_language if self.department else "en"

    def _add_channel_text_fields(self) -> None:
        for channel in self.channel_list:
            self.fields[f"channel_text_{channel.pk}"] = forms.CharField(
                label=_("Text for %(channel)s") % {"channel": channel.display_name},
                required=False,
                strip=False,
                widget=forms.Textarea(attrs={"rows": 4, "data-channel-text": channel.pk}),
                help_text=_("Leave empty to use the main text."),
            )

    @property
    def thread_part_count(self) -> int:
        """How many parts the thread in the form has (1: a plain post), within 1..MAX_THREAD_PARTS."""
        try:
            count = int(self._value("thread_count") or 1)
        except (TypeError, ValueError):
            count = 1
        return min(max(count, 1), MAX_THREAD_PARTS)

    def _add_thread_fields(self) -> None:
        count = self.thread_part_count
        for number in range(2, count + 1):
            self.fields[f"thread_part_{number}"] = forms.CharField(
                label=_("Part %(part)d of %(count)d") % {"part": number, "count": count},
                required=False,
                strip=False,
                widget=forms.Textarea(attrs={"rows": 3, "data-thread-part": number}),
            )

    def _add_media_fields(self, media_ids: list[int] | None) -> None:
        if media_ids is None:
            if self.is_bound:
                media_ids = _ids(self.data.getlist("media") if hasattr(self.data, "getlist") else [])
            else:
                media_ids = _ids(self.initial.get("media") or [])
        department_ids = [self.department.pk] if self.department else [d.pk for d in self.departments]
        assets = {a.pk: a for a in MediaAsset.objects.filter(pk__in=media_ids, department_id__in=department_ids)}
        self.media_dropped = [pk for pk in media_ids if pk not in assets]
        self.media_assets: list[MediaAsset] = []
        for pk in dict.fromkeys(media_ids):
            asset = assets.get(pk)
            if asset is None:
                continue
            self.media_assets.append(asset)
            name = f"alt_{asset.pk}"
            file_label = asset.original_name or _("this file")
            self.fields[name] = forms.CharField(
                label=(_("Title of %(file)s") if asset.is_document else _("Alt text for %(file)s"))
                % {"file": file_label},
                required=False,
                widget=forms.Textarea(attrs={"rows": 2, "data-alt-text": asset.pk}),
                help_text=(
                    _("LinkedIn shows it above the document.")
                    if asset.is_document
                    else _("Describe what it shows, as you would to someone on the phone.")
                ),
            )
            if name not in self.initial:
                self.initial[name] = asset.alt_text

    def _language_codes(self) -> list[str]:
        if self.department is not None:
            codes = list(self.department.languages or ["en"])
        else:
            codes = [code for department in self.departments for code in (department.languages or ["en"])]
        if self.post is not None:
            codes += list(self.post.languages)
        main = self.main_language
        return [code for code in dict.fromkeys(codes) if code != main]

    def _add_language_fields(self) -> None:
        self.language_codes = self._language_codes()
        for code in self.language_codes:
            name = language_name(code)
            self.fields[f"lang_{code}_text"] = forms.CharField(
                label=_("Text in %(language)s") % {"language": name},
                required=False,
                strip=False,
                widget=forms.Textarea(attrs={"rows": 5, "lang": code, "data-language-text": code}),
            )
            self.fields[f"lang_{code}_reviewed"] = forms.BooleanField(
                label=_("A person wrote or checked this %(language)s version (not an unchecked machine translation).")
                % {"language": name},
                required=False,
            )
            for channel in self.channel_list:
                self.fields[f"lang_{code}_channel_{channel.pk}"] = forms.CharField(
                    label=_("%(language)s text for %(channel)s") % {"language": name, "channel": channel.display_name},
                    required=False,
                    strip=False,
                    widget=forms.Textarea(attrs={"rows": 3, "lang": code}),
                    help_text=_("Leave empty to use the %(language)s text.") % {"language": name},
                )
            for asset in self.media_assets:
                self.fields[f"lang_{code}_alt_{asset.pk}"] = forms.CharField(
                    label=_("Alt text in %(language)s for %(file)s")
                    % {"language": name, "file": asset.original_name or _("this file")},
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 2, "lang": code}),
                )

    def _set_library_choices(self) -> None:
        field = self.fields["library_pick"]
        if self.department is None:
            field.choices = [("", _("- Choose the department first -"))]
            return
        attached = {asset.pk for asset in self.media_assets}
        recent = MediaAsset.objects.filter(department=self.department).exclude(pk__in=attached)[:LIBRARY_CHOICES]
        field.choices = [("", _("- Choose a file -"))] + [
            (str(asset.pk), f"{asset.original_name or asset.file_name} ({asset.get_kind_display().lower()})")
            for asset in recent
        ]

    # --- Initial values of an existing post ----------------------------------------------------------

    @staticmethod
    def initial_for(post: Post) -> dict[str, Any]:
        local = post.due_at.astimezone(post.department.zone)
        initial: dict[str, Any] = {
            "text": post.text,
            "link": post.link,
            "channels": [channel.pk for channel in post.channels.all()],
            "publish_date": local.date(),
            "publish_time": local.time().replace(tzinfo=None, fold=0),
            "fold": LATER if local.fold else EARLIER,
        }
        for key, value in (post.channel_text or {}).items():
            initial[f"channel_text_{key}"] = value
        initial["thread_count"] = 1 + len(post.thread_parts or [])
        for number, part in enumerate(post.thread_parts or [], start=2):
            initial[f"thread_part_{number}"] = part
        initial["first_comment"] = post.first_comment
        items = list(post.media_items.order_by("position", "id"))
        initial["media"] = [item.asset_id for item in items]
        for item in items:
            initial[f"alt_{item.asset_id}"] = item.alt_text
        for code, version in (post.languages or {}).items():
            initial[f"lang_{code}_text"] = version.get("text", "")
            initial[f"lang_{code}_reviewed"] = bool(version.get("reviewed"))
            for key, value in (version.get("channel_text") or {}).items():
                initial[f"lang_{code}_channel_{key}"] = value
            for key, value in (version.get("media_alt") or {}).items():
                initial[f"lang_{code}_alt_{key}"] = value
        return initial

    @classmethod
    def initial_from_data(cls, data: Any) -> dict[str, Any]:
        """Returns what was typed as `initial`, to show it again without judging it (after an upload,
        or when restoring), so nothing typed is lost and no error is shown before a save."""
        initial: dict[str, Any] = {}
        for key in data:
            if key in ("csrfmiddlewaretoken",) or key.startswith(("save", "submit")):
                continue
            values = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
            if key in ("channels", "media"):
                initial[key] = _ids(values)
            elif key.endswith("_reviewed"):
                initial[key] = values[-1] in ("on", "true", "1", "True")
            else:
                initial[key] = values[-1]
        return initial

    # --- Presentation helpers for the template -------------------------------------------------------

    @property
    def department_choices_with_zones(self) -> list[Department]:
        """The departments this person posts for, to explain which time zone applies."""
        return [self.fixed_department] if self.fixed_department else self.departments

    @property
    def has_channel_text(self) -> bool:
        return any((field.value() or "").strip() for _channel, field in self.channel_text_rows)

    @property
    def channel_text_rows(self) -> list[tuple[Channel, forms.BoundField]]:
        return [(channel, self[f"channel_text_{channel.pk}"]) for channel in self.channel_list]

    @property
    def thread_rows(self) -> list[forms.BoundField]:
        return [self[f"thread_part_{number}"] for number in range(2, self.thread_part_count + 1)]

    @property
    def may_add_part(self) -> bool:
        return self.thread_part_count < MAX_THREAD_PARTS

    @property
    def media_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "asset": asset,
                "alt": self[f"alt_{asset.pk}"],
                "first": index == 0,
                "last": index == len(self.media_assets) - 1,
            }
            for index, asset in enumerate(self.media_assets)
        ]

    @property
    def language_sections(self) -> list[dict[str, Any]]:
        sections = []
        for code in self.language_codes:
            text = self[f"lang_{code}_text"]
            channel_fields = [(c, self[f"lang_{code}_channel_{c.pk}"]) for c in self.channel_list]
            alt_fields = [(a, self[f"lang_{code}_alt_{a.pk}"]) for a in self.media_assets]
            has_content = bool(
                (text.value() or "").strip()
                or any((f.value() or "").strip() for _c, f in channel_fields)
                or any((f.value() or "").strip() for _a, f in alt_fields)
            )
            sections.append(
                {
                    "code": code,
                    "name": language_name(code),
                    "text": text,
                    "reviewed": self[f"lang_{code}_reviewed"],
                    "channel_fields": channel_fields,
                    "alt_fields": alt_fields,
                    "has_content": has_content,
                }
            )
        return sections

    # --- Cleaning -------------------------------------------------------------------------------------

    def _prepare_fold_from_initial(self) -> None:
        department = self.fixed_department
        date, time = self.initial.get("publish_date"), self.initial.get("publish_time")
        if department is None or date is None or time is None:
            return
        naive = dt.datetime.combine(date, time)
        if classify_local_time(naive, department.zone) is LocalTime.AMBIGUOUS:
            self._offer_fold(naive, department.zone)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
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
        foreign_media = [asset for asset in self.media_assets if asset.department_id != department.pk]
        if foreign_media:
            self.add_error(
                None,
                _("%(files)s is in the media library of another department. Remove it, or upload it again here.")
                % {"files": ", ".join(asset.original_name or asset.file_name for asset in foreign_media)},
            )
        date, time = cleaned.get("publish_date"), cleaned.get("publish_time")
        if date is not None and time is not None:
            cleaned["due_at"] = self._due_at(dt.datetime.combine(date, time), department, cleaned.get("fold") or "")
        return cleaned

    # --- Results for the services ---------------------------------------------------------------------

    def channel_text_value(self) -> dict[str, str]:
        """Returns the per-channel versions that say something, for every channel (chosen or not, so
        unticking a channel for a moment loses nothing)."""
        values = {}
        for channel in self.channel_list:
            text = (self.cleaned_data.get(f"channel_text_{channel.pk}") or "").strip()
            if text:
                values[str(channel.pk)] = text
        return values

    def languages_value(self) -> dict[str, dict[str, Any]]:
        """Returns the language versions that have anything written in them."""
        versions: dict[str, dict[str, Any]] = {}
        for code in self.language_codes:
            text = (self.cleaned_data.get(f"lang_{code}_text") or "").strip()
            channel_text = {}
            for channel in self.channel_list:
                value = (self.cleaned_data.get(f"lang_{code}_channel_{channel.pk}") or "").strip()
                if value:
                    channel_text[str(channel.pk)] = value
            media_alt = {}
            for asset in self.media_assets:
                value = (self.cleaned_data.get(f"lang_{code}_alt_{asset.pk}") or "").strip()
                if value:
                    media_alt[str(asset.pk)] = value
            if text or channel_text or media_alt:
                versions[code] = {
                    "text": text,
                    "channel_text": channel_text,
                    "media_alt": media_alt,
                    "reviewed": bool(self.cleaned_data.get(f"lang_{code}_reviewed")),
                }
        return versions

    def thread_parts_value(self) -> list[str]:
        """Returns the texts of parts 2, 3, … in order (empty parts are left out by the services)."""
        return [self.cleaned_data.get(f"thread_part_{number}") or "" for number in range(2, self.thread_part_count + 1)]

    def media_value(self) -> list[tuple[MediaAsset, str]]:
        return [(asset, (self.cleaned_data.get(f"alt_{asset.pk}") or "").strip()) for asset in self.media_assets]

    def service_arguments(self) -> dict[str, Any]:
        """Returns the keyword arguments for post_create / post_update."""
        arguments = {
            "text": self.cleaned_data.get("text") or "",
            "link": self.cleaned_data.get("link") or "",
            "channels": list(self.cleaned_data.get("channels") or []),
            "due_at": self.cleaned_data.get("due_at"),
            "channel_text": self.channel_text_value(),
            "languages": self.languages_value(),
            "media": self.media_value(),
            "thread_parts": self.thread_parts_value(),
            "first_comment": self.cleaned_data.get("first_comment") or "",
        }
        if self.fixed_department is None:
            arguments["department"] = self.cleaned_data["department"]
        return arguments


def _ids(values: Any) -> list[int]:
    ids = []
    for value in values or []:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    return ids
