"""Form pieces the connect flows share (scheduler/adapters/<platform>/forms.py holds each platform's own)."""

from __future__ import annotations

from django import forms


class ConfirmForm(forms.Form):
    """The OAuth platforms ask nothing here: the admin signs in on the platform's own page."""
