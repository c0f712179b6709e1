"""Departments, memberships, roles and their selectors, and each department's approval policy (ApprovalStep rows
and their write services). The bottom of the feature apps: imports only civicpost's core helpers and audit's
recorder. (Left to invert: the settings service's "language still used" check and language names read
scheduler, see issue 12's note;)"""

from django.apps import AppConfig


class DepartmentsConfig(AppConfig):
    name = "departments"
    verbose_name = "Departments"
