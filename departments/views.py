"""Pages for people and roles: a department's members (its admins, the IT admin), its approval policy and
settings (its admins, the communications managers) and the city-wide roles (the IT admin). Every change of
a role, the approval policy or the settings asks for the password again (civicpost.reauth.require_recent_auth)."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civicpost.exceptions import ApplicationError
from civicpost.http import AuthenticatedHttpRequest
from civicpost.languages import channel_language, language_name
from civicpost.reauth import require_recent_auth
from departments import rules
from departments.forms import (
    CityRoleForm,
    DepartmentSettingsForm,
    MemberAddForm,
    MemberImportConfirmForm,
    MemberImportForm,
    MemberRoleForm,
)
from departments.member_import import MAX_BYTES, MAX_ROWS, member_csv_preview, memberships_import
from departments.models import CityRole, Department, Membership
from departments.selectors import (
    department_get_for_members,
    department_get_for_settings,
    departments_for_management,
    membership_get_for_manager,
)
from departments.services import (
    city_role_remove,
    city_role_set,
    department_settings_update,
    membership_add,
    membership_change_role,
    membership_remove,
)


def _flash_error(request: AuthenticatedHttpRequest, error: ApplicationError) -> None:
    messages.error(request, error.message)


@login_required
@require_GET
def department_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows = departments_for_management(user=request.user)
    if not rows and not rules.can_manage_city_roles(request.user):
        raise Http404("Nothing to manage.")
    return render(
        request,
        "departments/department_list.html",
        {"rows": rows, "can_manage_city_roles": rules.can_manage_city_roles(request.user)},
    )


# --- Members --------------------------------------------------------------------------------------


@login_required
@require_GET
def member_list(request: AuthenticatedHttpRequest, department_id: int) -> HttpResponse:
    department = department_get_for_members(user=request.user, department_id=department_id)
    memberships = list(Membership.objects.filter(department=department).select_related("user").order_by("user__email"))
    return render(
        request,
        "departments/members.html",
        {
            "department": department,
            "memberships": memberships,
            "add_form": MemberAddForm(),
            "role_choices": cast(forms.ChoiceField, MemberRoleForm.base_fields["role"]).choices,
        },
    )


def _members_department(request: AuthenticatedHttpRequest, department_id: int) -> Department:
    return department_get_for_members(user=request.user, department_id=department_id)


def _managed_membership(request: AuthenticatedHttpRequest, department_id: int, membership_id: int) -> Membership:
    department = department_get_for_members(user=request.user, department_id=department_id)
    return membership_get_for_manager(user=request.user, department=department, membership_id=membership_id)


@login_required
@require_POST
@require_recent_auth(load=_members_department)
def member_add(request: AuthenticatedHttpRequest, department: Department) -> HttpResponse:
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            membership = membership_add(actor=request.user, department=department, **form.cleaned_data)
        except ApplicationError as error:
            _flash_error(request, error)
        else:
            messages.success(request, _("%(email)s was added.") % {"email": membership.user.email})
    else:
        messages.error(request, _("Give the email address of an account and a role."))
    return redirect("departments:members", department_id=department.pk)


@login_required
@require_POST
@require_recent_auth(load=_managed_membership)
def member_role(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            membership_change_role(actor=request.user, membership=membership, role=form.cleaned_data["role"])
        except ApplicationError as error:
            _flash_error(request, error)
        else:
            messages.success(request, _("The role of %(email)s was changed.") % {"email": membership.user.email})
    return redirect("departments:members", department_id=membership.department_id)


@login_required
@require_POST
@require_recent_auth(load=_managed_membership)
def member_remove(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    try:
        membership_remove(actor=request.user, membership=membership)
    except ApplicationError as error:
        _flash_error(request, error)
    else:
        messages.success(request, _("%(email)s was removed.") % {"email": membership.user.email})
    return redirect("departments:members", department_id=membership.department_id)


# --- Members from a CSV file ---------------------------------------------------------------------


def _import_upload_page(
    request: AuthenticatedHttpRequest,
    department: Department,
    form: MemberImportForm,
    *,
    status: int = 200,
    problem: str = "",
) -> HttpResponse:
    return render(
        request,
        "departments/member_import.html",
        {"department": department, "form": form, "max_rows": MAX_ROWS, "problem": problem},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def member_import(request: AuthenticatedHttpRequest, department_id: int) -> HttpResponse:
    """The upload form (GET) and the check of the file (POST), which writes nothing."""
    department = department_get_for_members(user=request.user, department_id=department_id)
    if request.method == "GET":
        return _import_upload_page(request, department, MemberImportForm())
    form = MemberImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _import_upload_page(request, department, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        # One byte more than the limit is enough to tell the file is too large.
        preview = member_csv_preview(actor=request.user, department=department, data=upload.read(MAX_BYTES + 1))
    except ApplicationError as error:
        form.add_error("file", error.message)
        return _import_upload_page(request, department, form, status=400)
    return render(
        request,
        "departments/member_import_preview.html",
        {
            "department": department,
            "preview": preview,
            "confirm_form": MemberImportConfirmForm(initial={"rows": preview.good_csv()}),
            "form": MemberImportForm(),
            "file_name": upload.name or "",
        },
    )


@login_required
@require_POST
@require_recent_auth(load=_members_department)
def member_import_confirm(request: AuthenticatedHttpRequest, department: Department) -> HttpResponse:
    form = MemberImportConfirmForm(request.POST)
    if not form.is_valid():
        problem = _("Nothing to add. Choose the CSV file and check it again.")
        return _import_upload_page(request, department, MemberImportForm(), status=400, problem=problem)
    try:
        result = memberships_import(
            actor=request.user, department=department, data=form.cleaned_data["rows"].encode("utf-8")
        )
    except ApplicationError as error:
        return _import_upload_page(request, department, MemberImportForm(), status=400, problem=error.message)
    return render(request, "departments/member_import_done.html", {"department": department, "result": result})


# --- Approval policy ------------------------------------------------------------------------------


# --- Department settings --------------------------------------------------------------------------


def _settings_department(request: AuthenticatedHttpRequest, department_id: int) -> Department:
    return department_get_for_settings(user=request.user, department_id=department_id)


@login_required
@require_http_methods(["GET", "POST"])
@require_recent_auth(load=_settings_department, allow_get=True)
def department_settings(request: AuthenticatedHttpRequest, department: Department) -> HttpResponse:
    """Saving can switch recurring series to one approval for all their posts: the password again first
    (reading the form needs none)."""
    if request.method == "GET":
        form = DepartmentSettingsForm(department=department, initial=DepartmentSettingsForm.initial_for(department))
        return render(request, "departments/department_settings.html", _settings_context(request, department, form))
    form = DepartmentSettingsForm(request.POST, department=department)
    if form.is_valid():
        try:
            department_settings_update(actor=request.user, department=department, **form.cleaned_data)
        except ApplicationError as error:
            field = error.extra.get("field")
            form.add_error(field if field in form.fields else None, error.message)
        else:
            messages.success(request, _("The settings of %(department)s were saved.") % {"department": department})
            return redirect("departments:settings", department_id=department.pk)
    return render(
        request, "departments/department_settings.html", _settings_context(request, department, form), status=400
    )


def _settings_context(request: AuthenticatedHttpRequest, department: Department, form: DepartmentSettingsForm) -> dict:
    channels = [
        (channel, language_name(channel_language(channel)) if channel_language(channel) else "")
        for channel in department.channels.order_by("display_name")
    ]
    return {
        "department": department,
        "form": form,
        "channels": channels,
        "can_open_channels": rules.can_administer_department(request.user, department.pk),
    }


# --- City-wide roles ------------------------------------------------------------------------------


def _require_city_role_manager(request: AuthenticatedHttpRequest, **_url_kwargs: object) -> None:
    if not rules.can_manage_city_roles(request.user):
        raise Http404("No such page.")


@login_required
@require_GET
def city_roles(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_city_role_manager(request)
    roles = list(CityRole.objects.select_related("user").order_by("user__email"))
    return render(request, "departments/city_roles.html", {"city_roles": roles, "form": CityRoleForm()})


@login_required
@require_POST
@require_recent_auth(check=_require_city_role_manager)
def city_role_save(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = CityRoleForm(request.POST)
    if form.is_valid():
        try:
            city_role = city_role_set(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            _flash_error(request, error)
        else:
            messages.success(request, _("The city-wide role of %(email)s was saved.") % {"email": city_role.user.email})
    else:
        messages.error(request, _("Give the email address of an account."))
    return redirect("departments:city_roles")


@login_required
@require_POST
@require_recent_auth(check=_require_city_role_manager)
def city_role_delete(request: AuthenticatedHttpRequest, city_role_id: int) -> HttpResponse:
    city_role = CityRole.objects.select_related("user").filter(pk=city_role_id).first()
    if city_role is None:
        raise Http404("No such role.")
    try:
        city_role_remove(actor=request.user, city_role=city_role)
    except ApplicationError as error:
        _flash_error(request, error)
    else:
        messages.success(request, _("%(email)s has no city-wide role any more.") % {"email": city_role.user.email})
    return redirect("departments:city_roles")
