"""The account page's API tokens (Account & security → API tokens): list, create (shown once), revoke."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from api.models import TokenScope
from api.selectors import api_token_get_for_user, api_tokens_for_user
from api.services import api_token_create, api_token_revoke
from civicpost.exceptions import ApplicationError
from civicpost.http import AuthenticatedHttpRequest
from civicpost.reauth import require_recent_auth

EXPIRY_CHOICES = [("30", gettext_lazy("30 days")), ("90", gettext_lazy("90 days")), ("365", gettext_lazy("1 year"))]


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("Which system will use it, e.g. “311 road closures”."),
    )
    expires_in_days = forms.TypedChoiceField(
        label=gettext_lazy("Expires after"), choices=EXPIRY_CHOICES, coerce=int, initial="90"
    )
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("What it may do"),
        choices=TokenScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[TokenScope.READ],
        help_text=gettext_lazy("Approving is never possible with a token: approvers approve in the browser."),
    )


def _page(request: HttpRequest, form: TokenForm, *, secret: str = "", status: int = 200) -> HttpResponse:
    context = {"form": form, "tokens": api_tokens_for_user(user=request.user), "secret": secret}
    return render(request, "api/token_list.html", context, status=status)


@login_required
@require_GET
def token_list(request: HttpRequest) -> HttpResponse:
    return _page(request, TokenForm())


@never_cache
@login_required
@require_POST
@require_recent_auth
def token_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Creates a token and shows it on this response only (never stored, never shown again)."""
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        created = api_token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_in_days=form.cleaned_data["expires_in_days"],
        )
    except ApplicationError as error:
        form.add_error(None, error.message)
        return _page(request, form, status=400)
    return _page(request, TokenForm(), secret=created.secret)


@login_required
@require_POST
def token_revoke(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    token = api_token_get_for_user(user=request.user, token_id=token_id)
    api_token_revoke(user=request.user, token=token)
    messages.success(request, _("Token “%(name)s” revoked: it no longer works.") % {"name": token.name})
    return HttpResponseRedirect(reverse("api_tokens:token_list"))
