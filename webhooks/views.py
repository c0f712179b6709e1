"""A department's webhook pages, for its admins: the list (and a new subscription, its secret shown once),
one subscription with its delivery log, a test event, a new secret, deleting it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from civicpost.exceptions import ApplicationError
from civicpost.http import AuthenticatedHttpRequest
from webhooks.forms import SubscriptionForm
from webhooks.models import WebhookSubscription
from webhooks.selectors import (
    delivery_log,
    department_get_for_webhooks,
    subscription_get_for_admin,
    subscriptions_for_department,
)
from webhooks.services import (
    webhook_delivery_send,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_rotate_secret,
    webhook_subscription_update,
    webhook_test_event_record,
)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def subscription_list(request: AuthenticatedHttpRequest, department_id: int) -> HttpResponse:
    department = department_get_for_webhooks(user=request.user, department_id=department_id)
    form = SubscriptionForm(request.POST or None)
    secret = ""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created = webhook_subscription_create(
                    user=request.user,
                    department=department,
                    name=form.cleaned_data["name"],
                    url=form.cleaned_data["url"],
                    event_types=form.cleaned_data["event_types"],
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                secret = created.secret
                form = SubscriptionForm()
        if not secret:
            status = 400
    context = {
        "department": department,
        "subscriptions": subscriptions_for_department(user=request.user, department=department),
        "form": form,
        "secret": secret,
    }
    return render(request, "webhooks/subscription_list.html", context, status=status)


def _detail(
    request: HttpRequest,
    subscription: WebhookSubscription,
    form: SubscriptionForm,
    *,
    secret: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "subscription": subscription,
        "department": subscription.department,
        "form": form,
        "log": delivery_log(subscription=subscription),
        "secret": secret,
    }
    return render(request, "webhooks/subscription_detail.html", context, status=status)


def _initial(subscription: WebhookSubscription) -> dict[str, object]:
    return {
        "name": subscription.name,
        "url": subscription.url,
        "event_types": subscription.event_types,
        "is_active": subscription.is_active,
    }


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def subscription_detail(request: AuthenticatedHttpRequest, subscription_id: int) -> HttpResponse:
    subscription = subscription_get_for_admin(user=request.user, subscription_id=subscription_id)
    if request.method == "GET":
        return _detail(request, subscription, SubscriptionForm(initial=_initial(subscription)))
    form = SubscriptionForm(request.POST)
    if form.is_valid():
        try:
            webhook_subscription_update(user=request.user, subscription=subscription, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Webhook saved."))
            return redirect("webhooks:subscription", subscription_id=subscription.pk)
    subscription.refresh_from_db()
    return _detail(request, subscription, form, status=400)


@login_required
@require_POST
def subscription_test(request: AuthenticatedHttpRequest, subscription_id: int) -> HttpResponse:
    """Sends a test event now (in this request: the admin waits for the answer) and shows it in the log."""
    subscription = subscription_get_for_admin(user=request.user, subscription_id=subscription_id)
    delivery = webhook_test_event_record(user=request.user, subscription=subscription)
    status = webhook_delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    if status == "delivered":
        messages.success(request, _("Test event delivered (HTTP %(code)s).") % {"code": delivery.response_status})
    else:
        messages.error(
            request,
            _("The test event was not delivered: %(why)s")
            % {"why": delivery.error_message or _("no answer yet; it will be tried again.")},
        )
    return redirect("webhooks:subscription", subscription_id=subscription.pk)


@never_cache
@login_required
@require_POST
def subscription_rotate_secret(request: AuthenticatedHttpRequest, subscription_id: int) -> HttpResponse:
    subscription = subscription_get_for_admin(user=request.user, subscription_id=subscription_id)
    secret = webhook_subscription_rotate_secret(user=request.user, subscription=subscription)
    return _detail(request, subscription, SubscriptionForm(initial=_initial(subscription)), secret=secret)


@login_required
@require_POST
def subscription_delete(request: AuthenticatedHttpRequest, subscription_id: int) -> HttpResponse:
    subscription = subscription_get_for_admin(user=request.user, subscription_id=subscription_id)
    department_id = subscription.department_id
    webhook_subscription_delete(user=request.user, subscription=subscription)
    messages.success(request, _("Webhook deleted: nothing more is sent to it."))
    return redirect("webhooks:subscriptions", department_id=department_id)
