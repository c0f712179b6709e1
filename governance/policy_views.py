"""The approval-policy pages of a department (who approves its posts, at which step): the department's
admins and the communications managers. The steps are departments' rows (departments.models.ApprovalStep,
written by departments.services.approval_step_*); the effective policy is scheduler.approvals. Mounted under
/departments/<id>/policy/ with the department pages' URL names (civicpost/urls.py joins them)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from civicpost.exceptions import ApplicationError
from civicpost.http import AuthenticatedHttpRequest
from civicpost.reauth import require_recent_auth
from departments.models import ApprovalStep, Department
from departments.selectors import department_get_for_policy
from departments.services import approval_step_add, approval_step_delete, approval_step_move_up
from governance.forms import ApprovalStepForm
from scheduler.approvals import PolicyCache


def _flash_error(request: HttpRequest, error: ApplicationError) -> None:
    messages.error(request, error.message)


def _step_for(department_id: int, step_id: int) -> ApprovalStep:
    step = ApprovalStep.objects.select_related("department").filter(pk=step_id, department_id=department_id).first()
    if step is None:
        raise Http404("No such step.")
    return step


def _policy_department(request: AuthenticatedHttpRequest, department_id: int) -> Department:
    return department_get_for_policy(user=request.user, department_id=department_id)


def _policy_step(request: AuthenticatedHttpRequest, department_id: int, step_id: int) -> ApprovalStep:
    department = department_get_for_policy(user=request.user, department_id=department_id)
    return _step_for(department.pk, step_id)


@login_required
@require_GET
def policy(request: AuthenticatedHttpRequest, department_id: int) -> HttpResponse:
    department = department_get_for_policy(user=request.user, department_id=department_id)
    return render(request, "governance/policy.html", _policy_context(department, ApprovalStepForm()))


def _policy_context(department: Department, form: ApprovalStepForm) -> dict:
    steps = list(
        ApprovalStep.objects.filter(department=department).prefetch_related("users").order_by("position", "id")
    )
    return {
        "department": department,
        "steps": steps,
        "effective": PolicyCache().policy(department.pk),
        "form": form,
    }


@login_required
@require_POST
@require_recent_auth(load=_policy_department)
def policy_step_add(request: AuthenticatedHttpRequest, department: Department) -> HttpResponse:
    form = ApprovalStepForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            approval_step_add(
                user=request.user,
                department=department,
                name=data["name"],
                mode=data["mode"],
                department_approvers=data["department_approvers"],
                department_admins=data["department_admins"],
                communications_managers=data["communications_managers"],
                users=data["user_emails"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The step was added to the approval policy."))
            return redirect("departments:policy", department_id=department.pk)
    return render(request, "governance/policy.html", _policy_context(department, form), status=400)


@login_required
@require_POST
@require_recent_auth(load=_policy_step)
def policy_step_delete(request: AuthenticatedHttpRequest, step: ApprovalStep) -> HttpResponse:
    try:
        approval_step_delete(user=request.user, step=step)
    except ApplicationError as error:
        _flash_error(request, error)
    else:
        messages.success(request, _("The step was removed from the approval policy."))
    return redirect("departments:policy", department_id=step.department_id)


@login_required
@require_POST
@require_recent_auth(load=_policy_step)
def policy_step_up(request: AuthenticatedHttpRequest, step: ApprovalStep) -> HttpResponse:
    try:
        approval_step_move_up(user=request.user, step=step)
    except ApplicationError as error:
        _flash_error(request, error)
    return redirect("departments:policy", department_id=step.department_id)
