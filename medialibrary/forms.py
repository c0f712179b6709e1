"""Forms of the media library pages. They clean input; the services check and store the files."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy

from civicpost import fields as civic_fields
from civicpost.text import NormalizedTextFormMixin
from departments.models import Department
from departments.selectors import departments_user_can_post_for

ACCEPT = "image/jpeg,image/png,image/webp,image/gif,video/mp4,video/quicktime,.mov,application/pdf,.pdf"


class UploadForm(NormalizedTextFormMixin, forms.Form):
    department = civic_fields.ModelChoiceField(
        queryset=Department.objects.none(),
        label=gettext_lazy("Department library"),
        error_messages={"required": gettext_lazy("Choose whose library the file goes into.")},
    )
    file = forms.FileField(
        label=gettext_lazy("Image, video or PDF file"),
        help_text=gettext_lazy(
            "JPEG, PNG, WebP or GIF images up to 15 MB, MP4 or MOV video, "
            "or a PDF document up to 100 MB (LinkedIn only)."
        ),
        widget=forms.FileInput(attrs={"accept": ACCEPT}),
        error_messages={"required": gettext_lazy("Choose a file to upload.")},
    )
    alt_text = forms.CharField(
        label=gettext_lazy("Alt text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "What the image shows, for residents who cannot see it. For a PDF: its title (required)."
        ),
    )
    captions = forms.FileField(
        label=gettext_lazy("Captions for a video (WebVTT or SRT)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": ".vtt,.srt,text/vtt"}),
    )
    transcript = forms.CharField(
        label=gettext_lazy("Transcript for a video"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    captions_burned_in = forms.BooleanField(
        label=gettext_lazy("The captions are burned into the picture"),
        required=False,
        help_text=gettext_lazy(
            "Tick only if every spoken word is shown as text in the video itself. Your name and the time are recorded."
        ),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        departments = departments_user_can_post_for(user=user)
        field = cast("forms.ModelChoiceField[Department]", self.fields["department"])
        field.queryset = Department.objects.filter(pk__in=[d.pk for d in departments])
        if len(departments) == 1:
            field.empty_label = None
            field.initial = departments[0].pk


class AssetForm(NormalizedTextFormMixin, forms.Form):
    alt_text = forms.CharField(
        label=gettext_lazy("Alt text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Suggested when the file is attached to a post; each post keeps its own."),
    )
    transcript = forms.CharField(
        label=gettext_lazy("Transcript"), required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    captions = forms.FileField(
        label=gettext_lazy("Captions file (WebVTT or SRT)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": ".vtt,.srt,text/vtt"}),
    )
    remove_captions = forms.BooleanField(label=gettext_lazy("Remove the captions file"), required=False)
    captions_burned_in = forms.BooleanField(
        label=gettext_lazy("The captions are burned into the picture"),
        required=False,
        help_text=gettext_lazy(
            "Tick only if every spoken word is shown as text in the video itself. Your name and the time are recorded."
        ),
    )
