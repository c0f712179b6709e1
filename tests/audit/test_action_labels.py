"""Every action the code records reads as words on the audit trail page, not as its stored name."""

import re
from pathlib import Path

from audit.models import AuditAction
from audittrail.presentation import OTHER_ACTION_LABELS, action_choices

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "accounts",
    "analytics",
    "api",
    "archive",
    "audit",
    "composer",
    "connections",
    "departments",
    "feeds",
    "governance",
    "inbox",
    "intake",
    "medialibrary",
    "monitoring",
    "people",
    "scheduler",
    "webhooks",
)
# A module constant naming an audit action (AUDIT_HOLD_KEPT = "hold.kept"), a literal passed to audit_record,
# or a member of AuditAction passed to it (action=AuditAction.HOLD_KEPT).
RECORDED_ACTION = re.compile(
    r'^AUDIT_[A-Z_]+ = "([a-z_]+\.[a-z_]+)"|action="([a-z_]+\.[a-z_]+)"|action=AuditAction\.([A-Z_]+)\b', re.MULTILINE
)


def recorded_actions() -> set[str]:
    found: set[str] = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            for constant, literal, member in RECORDED_ACTION.findall(path.read_text(encoding="utf-8")):
                found.add(constant or literal or AuditAction[member].value)
    return found


def test_the_scan_finds_the_actions_other_apps_record_under_their_own_names() -> None:
    assert {"hold.kept", "post.votes_carried", "post.blackout_held", "media.uploaded"} <= recorded_actions()


def test_every_recorded_action_has_a_label_and_can_be_filtered_on() -> None:
    known = set(AuditAction.values) | set(OTHER_ACTION_LABELS)
    assert recorded_actions() - known == set()
    assert {value for value, _label in action_choices()} == known
