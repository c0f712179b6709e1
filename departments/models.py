import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicpost.zones import CITY_TIME_ZONE


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("%(value)s is not a known time zone (use a name like America/Chicago)."), params={"value": value}
        )


def default_languages() -> list[str]:
    return ["en"]


class LanguagePublishing(models.TextChoices):
    SAME_CHANNEL = "same_channel", _("Each language as its own post on the same channels")
    LANGUAGE_CHANNELS = "language_channels", _("Each language on the channels set to that language")


class SeriesApproval(models.TextChoices):
    OCCURRENCE = "occurrence", _("Approve each post of a recurring series on its own")
    SERIES = "series", _("Approve a recurring series once, for all its posts")


class Department(models.Model):
    """A city department. The communications team is a department whose approvers act city-wide."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    time_zone = models.CharField(max_length=64, default=CITY_TIME_ZONE, validators=[validate_time_zone])
    is_communications_team = models.BooleanField(
        default=False, help_text=_("Approvers and admins of this team may approve posts of every department.")
    )
    # The composer (issue 4): plain-language target, the languages posts are written in (main one first),
    # how language versions are published, and how recurring series are approved.
    plain_language_grade = models.PositiveSmallIntegerField(
        default=8, help_text=_("Reading grade the composer asks writers to stay at or below (US school grade).")
    )
    languages = models.JSONField(
        default=default_languages,
        blank=True,
        help_text=_('Language codes posts are written in, the main language first, such as ["en", "es"].'),
    )
    language_publishing = models.CharField(
        max_length=20, choices=LanguagePublishing.choices, default=LanguagePublishing.SAME_CHANNEL
    )
    series_approval = models.CharField(max_length=20, choices=SeriesApproval.choices, default=SeriesApproval.OCCURRENCE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def main_language(self) -> str:
        return (self.languages or ["en"])[0]


class Role(models.TextChoices):
    EDITOR = "editor", _("Editor")
    APPROVER = "approver", _("Approver")
    ADMIN = "admin", _("Department admin")


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "department"], name="one_membership_per_department")]
        ordering = ["department__name"]

    def __str__(self) -> str:
        return f"{self.user} — {self.department} ({self.get_role_display()})"

    @property
    def can_approve(self) -> bool:
        return self.role in (Role.APPROVER, Role.ADMIN)

    @property
    def can_approve_everywhere(self) -> bool:
        return self.can_approve and self.department.is_communications_team


class CityRoleName(models.TextChoices):
    COMMUNICATIONS_MANAGER = "communications_manager", _("Communications manager")
    VIEWER = "viewer", _("Viewer (read-only, every department)")
    IT_ADMIN = "it_admin", _("IT admin (users, sign-in, security, audit trail; not content)")
    RECORDS_OFFICER = "records_officer", _("Records officer (the public-records archive of every department)")


class CityRole(models.Model):
    """A person's city-wide standing, beside their department memberships.

    - communications manager: sees and approves the posts of every department (like an approver of the
      communications team), may switch a crisis hold on and off and reviews emergency posts;
    - viewer: reads every department's posts that are not drafts, and does nothing else (the city
      manager's office);
    - IT admin: people, roles, sign-in and security settings, the audit trail and crisis holds; no post
      access beyond what their own memberships give;
    - records officer (typically the city clerk): the public-records archive of every department (published
      outcomes, never unpublished drafts), its retention, legal holds, disposition and records-request
      exports; nothing else.
    `can_post_emergency` is set per person, like Nixle's "authorised official": it allows publishing an
    emergency post at once to any channel, whatever the role."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="city_role")
    role = models.CharField(max_length=32, choices=CityRoleName.choices, blank=True)
    can_post_emergency = models.BooleanField(
        default=False,
        help_text=_("May publish an emergency post at once to any channel of the city (an authorised official)."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user__email"]

    def __str__(self) -> str:
        label = self.get_role_display() if self.role else _("No city-wide role")
        return f"{self.user} — {label}{' (emergency posts)' if self.can_post_emergency else ''}"


# --- Approval policies (table named governance_approvalstep since it moved from governance) ---------


class ApprovalMode(models.TextChoices):
    ANY = "any", _("Any one of them")
    ALL = "all", _("All of them")


class ApprovalStep(models.Model):
    """One step of a department's approval policy. Steps run in `position` order; a department without
    steps has the default policy: one step, any one approver of the department or communications manager.

    The approvers of a step are everyone the ticked sources name, never the post's author, and never
    someone who already approved the post at an earlier step (each step is another person's decision)."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="approval_steps")
    position = models.PositiveSmallIntegerField(default=1)
    name = models.CharField(max_length=100, help_text=_("Shown on the post, such as “Department review”."))
    mode = models.CharField(max_length=8, choices=ApprovalMode.choices, default=ApprovalMode.ANY)
    department_approvers = models.BooleanField(
        default=True, verbose_name=_("Approvers of the department (and its admins)")
    )
    department_admins = models.BooleanField(default=False, verbose_name=_("Admins of the department"))
    communications_managers = models.BooleanField(default=False, verbose_name=_("Communications managers"))
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("Named people")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "governance_approvalstep"
        ordering = ["department__name", "position", "id"]

    def __str__(self) -> str:
        return f"{self.department}: {self.position}. {self.name}"
