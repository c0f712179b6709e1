"""Adding many members to a department from a CSV file (issue 19), the way composer.csv_import brings in posts.

Two steps. `member_csv_preview` reads the file (columns `email,role`, a header row, UTF-8 with or without a
byte-order mark, at most MAX_ROWS rows and MAX_BYTES) and gives every row's problem with its line number: a bad
e-mail address, an unknown role, an address twice in the file, no account with that address, the person
already a member, the admin's own address. It writes nothing. `memberships_import` then adds each good row
through `membership_add` (so the permission check, the audit event and the role cache apply to each row as
when one member is added), in one transaction; a row refused by then is skipped with its reason.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from civicpost.exceptions import ApplicationError
from departments.models import Department, Membership, Role
from departments.services import membership_add

MAX_ROWS = 500
MAX_BYTES = 1024 * 1024
COLUMNS = ("email", "role")


@dataclass
class MemberRow:
    line: int
    email: str
    role: str
    problem: str = ""

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label) if self.role else ""


@dataclass
class MemberPreview:
    rows: list[MemberRow] = field(default_factory=list)

    @property
    def good_rows(self) -> list[MemberRow]:
        return [row for row in self.rows if not row.problem]

    @property
    def bad_rows(self) -> list[MemberRow]:
        return [row for row in self.rows if row.problem]

    def good_csv(self) -> str:
        """The good rows as a CSV file of their own (header included): what the confirmation step sends back."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows((row.email, row.role) for row in self.good_rows)
        return out.getvalue()


@dataclass
class MemberImportResult:
    added: list[MemberRow] = field(default_factory=list)
    skipped: list[MemberRow] = field(default_factory=list)


def _read_rows(data: bytes) -> list[tuple[int, list[str]]]:
    """The file's data rows with their line numbers (the header is line 1). Raises ApplicationError with
    the file's problem when it cannot be read as the expected CSV at all."""
    if len(data) > MAX_BYTES:
        raise ApplicationError(_("The file is larger than 1 MB. Split it into smaller files."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ApplicationError(_("The file is not UTF-8 text. Save it from the spreadsheet as “CSV UTF-8”.")) from error
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or [cell.strip().casefold() for cell in header] != list(COLUMNS):
            raise ApplicationError(_("The first line must be the header “email,role”."))
        rows = []
        for values in reader:
            if not any(cell.strip() for cell in values):
                continue  # blank lines (spreadsheets add them at the end)
            rows.append((reader.line_num, values))
            if len(rows) > MAX_ROWS:
                raise ApplicationError(
                    _("The file has more than %(max)s rows. Split it into smaller files.") % {"max": MAX_ROWS}
                )
    except csv.Error as error:
        raise ApplicationError(_("Line %(line)s cannot be read as CSV.") % {"line": reader.line_num}) from error
    if not rows:
        raise ApplicationError(_("The file has a header but no rows."))
    return rows


def _role_value(text: str) -> str:
    """The role code for what the file says: the code (editor, approver, admin) or the role's name as shown."""
    wanted = text.strip().casefold()
    for value, label in Role.choices:
        if wanted in (value, str(label).casefold()):
            return value
    return ""


def member_csv_preview(*, actor: User, department: Department, data: bytes) -> MemberPreview:
    """Every row of the file with its problem, if any. Writes nothing; two queries. Raises ApplicationError
    when the file as a whole is wrong (too large, not UTF-8, no header, too many rows, no rows)."""
    rows = _read_rows(data)
    preview = MemberPreview()
    for line, values in rows:
        email = values[0].strip() if values else ""
        role_text = values[1].strip() if len(values) > 1 else ""
        row = MemberRow(line=line, email=email, role=_role_value(role_text))
        preview.rows.append(row)
        if len(values) != len(COLUMNS):
            row.problem = _("Expected 2 columns (email, role), found %(count)s.") % {"count": len(values)}
            continue
        try:
            validate_email(email)
        except ValidationError:
            row.problem = _("“%(email)s” is not an e-mail address.") % {"email": email}
            continue
        if not row.role:
            row.problem = _("“%(role)s” is not a role. Use editor, approver or admin.") % {"role": role_text}
    _check_against_accounts(actor=actor, department=department, rows=preview.rows)
    return preview


def _check_against_accounts(*, actor: User, department: Department, rows: list[MemberRow]) -> None:
    """Duplicates in the file, addresses without an account, people already members, the admin's own address."""
    wanted = {row.email.casefold() for row in rows if not row.problem}
    users = {
        user.email_folded: user
        for user in get_user_model()
        .objects.annotate(email_folded=Lower("email"))
        .filter(email_folded__in=wanted, is_active=True)
    }
    members = set(
        Membership.objects.filter(department=department, user__in=list(users.values())).values_list(
            "user_id", flat=True
        )
    )
    first_line: dict[str, int] = {}
    for row in rows:
        if row.problem:
            continue
        key = row.email.casefold()
        if key in first_line:
            row.problem = _("%(email)s is already on line %(line)s of the file.") % {
                "email": row.email,
                "line": first_line[key],
            }
            continue
        first_line[key] = row.line
        user = users.get(key)
        if user is None:
            row.problem = _("No active account has the address %(email)s.") % {"email": row.email}
        elif user.pk == actor.pk:
            row.problem = _("You cannot add yourself.")
        elif user.pk in members:
            row.problem = _("%(email)s is already a member of %(department)s.") % {
                "email": row.email,
                "department": department,
            }


@transaction.atomic
def memberships_import(*, actor: User, department: Department, data: bytes) -> MemberImportResult:
    """Checks the file again and adds each good row through membership_add, in one transaction. Rows with a
    problem, and rows membership_add refuses (each in its own savepoint), are skipped with their reason.
    Raises ApplicationError when the file as a whole is wrong."""
    preview = member_csv_preview(actor=actor, department=department, data=data)
    result = MemberImportResult(skipped=preview.bad_rows)
    for row in preview.good_rows:
        try:
            membership_add(actor=actor, department=department, email=row.email, role=row.role)
        except ApplicationError as error:
            row.problem = error.message
            result.skipped.append(row)
        else:
            result.added.append(row)
    result.skipped.sort(key=lambda row: row.line)
    return result
