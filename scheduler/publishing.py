"""The delivery state machine of shared/reliability.md: claim, send, record, sweep, reconcile.

PostgreSQL is the ledger; the message queue only rings the doorbell. Every transition is a
status-conditional update, so a duplicated message, a second dispatcher or a restarted worker can
cost a delay or a no-op, never a second post.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Field, Lookup, Q, Value, sql
from django.db.models.expressions import Combinable
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_insert_after, audit_record
from civicpost.compiled_queries import CompiledQuery
from scheduler import events
from scheduler.adapter_changes import channel_save_adapter_changes
from scheduler.adapters.base import (
    AdapterError,
    AuthExpired,
    CheckAgainLater,
    Duplicate,
    OutcomeUnknown,
    PlatformAdapter,
    PostContent,
    PublishError,
    PublishResult,
    RateLimited,
    ReplyTarget,
)
from scheduler.adapters.registry import adapter_for_channel
from scheduler.blackouts import blackouts_in_force, posts_blocked_by_blackouts
from scheduler.media_fitting import media_fitter
from scheduler.models import (
    ATTEMPT_OUTCOMES_THAT_MAY_HAVE_ARRIVED,
    ATTEMPT_SENDING,
    ATTEMPT_SUPERSEDED,
    CLAIMABLE_DELIVERY_STATUSES,
    PENDING_DELIVERY_STATUSES,
    WITHDRAWABLE_DELIVERY_STATUSES,
    Channel,
    ChannelStatus,
    Delivery,
    DeliveryAttempt,
    DeliveryKind,
    DeliveryStatus,
    Post,
    PostStatus,
    PublisherHeartbeat,
)
from scheduler.notifications import notify_delivery_outcome
from scheduler.selectors import held_deliveries_now
from scheduler.services import post_finish_after, post_refresh_status, posts_hold_for_blackouts
from scheduler.snapshots import channel_content, content_hash
from scheduler.state_guard import check_state_write

logger = logging.getLogger(__name__)

NOT_CONFIRMED_MESSAGE = "Sent, but not confirmed — check the account before posting again."


def _db_now_plus(seconds: float) -> ExpressionWrapper[Combinable]:
    return ExpressionWrapper(Now() + Value(dt.timedelta(seconds=seconds)), output_field=DateTimeField())


@dataclass
class TickReport:
    swept_claims: int = 0
    swept_sends: int = 0
    reconciled: int = 0
    claimed: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        report = asdict(self)
        report["claimed"] = len(self.claimed)
        return report


# --- Dispatcher -----------------------------------------------------------------------------------


def _publish_blocker(delivery: Delivery) -> str:
    """Returns why this delivery must not be sent now (empty string: it may). The worker asks it under the
    delivery's row lock, on the snapshot it then sends; it is the only fingerprint check (the claim does not
    repeat it)."""
    post = delivery.post
    approval = delivery.approval
    if post.status != PostStatus.APPROVED or post.current_approval_id != delivery.approval_id:
        return _("The post is no longer approved in this form.")
    if content_hash(approval.content) != approval.content_hash:
        return _("The approved content does not match its fingerprint; it was not sent.")
    return ""


def _predecessor_published() -> Q:
    """The claim's condition for chained deliveries: a delivery `after` another (the next part of a thread, a
    first comment) is claimable only once that one is published, so parts go out in order, each as a reply
    to a post that exists. Kept as its own filter so that it reads apart from the rest of the claim."""
    return Q(after__isnull=True) | Q(after__status=DeliveryStatus.PUBLISHED)


def claimable_deliveries() -> Q:
    """The rows the dispatcher may claim, as one condition evaluated by PostgreSQL: due by the database clock,
    in a claimable state, on a connected channel, not held (a post hold, or a crisis hold in scope), and of a
    post still approved in the form the delivery was made from. A further rule ("part n+1 of a thread after
    part n") is one more `&` here."""
    return (
        Q(status__in=CLAIMABLE_DELIVERY_STATUSES, next_attempt_at__lte=Now(), channel__status=ChannelStatus.CONNECTED)
        & Q(post__status=PostStatus.APPROVED, post__current_approval_id=F("approval_id"))
        & ~held_deliveries_now()
        & _predecessor_published()
    )


def deliveries_claim_due(*, batch_size: int | None = None) -> list[int]:
    """Claims due deliveries for sending and returns their ids.

    Locks with SKIP LOCKED, so concurrent dispatchers split the rows, and compares with the database clock,
    so a worker whose clock drifts cannot send early. Every per-row rule is SQL (`claimable_deliveries`). In
    the usual case three statements, whatever the batch: lock the ids, look for a blackout in force, claim
    them and return which were claimed (one UPDATE ... RETURNING, a new statement, so a hold committed while
    the first one ran is seen).

    The approved content's fingerprint is not checked here but by the worker (`_start_sending`), under the
    delivery's row lock, on the very snapshot it then sends: a delivery whose content was altered is claimed,
    and cancelled by its worker with the reason before any request (checking here too would only hash every
    post twice; issue 18).

    Not claimed: a delivery held (it stays scheduled until the hold is released); one inside a blackout no
    override covers (its post is held, sent back for approval, once these locks are released:
    scheduler/blackouts.py); one whose post is no longer approved in this form (withdrawn: cancelled with the
    reason)."""
    batch_size = batch_size or settings.CIVICPOST_DISPATCH_BATCH_SIZE
    alias = Delivery.objects.db
    blacked_out: dict[int, Any] = {}
    with transaction.atomic(using=alias):
        statements = _claim_statements(alias, batch_size, settings.CIVICPOST_CLAIM_LEASE_SECONDS)
        with connections[alias].cursor() as cursor:
            cursor.execute(statements.lock_sql, statements.lock_params)
            locked = [row[0] for row in cursor.fetchall()]
        if not locked:
            return []
        locked_order = {delivery_id: i for i, delivery_id in enumerate(locked)}
        blackout_on = blackouts_in_force()
        if blackout_on or not statements.claim_sql:
            claim = _claimable_among(locked)
            if blackout_on:
                # Rare: a blackout is on now. Its posts are found as before, from the rows still claimable.
                candidates = Post.objects.filter(pk__in=claim.values("post_id")).only("pk", "department_id", "due_at")
                blacked_out = posts_blocked_by_blackouts(candidates)
                claim = claim.exclude(post_id__in=list(blacked_out))
            claimed = _update_returning(claim, _claim_changes(statements.lease_seconds), returning=("id",))
        else:
            # One statement claims and says what it claimed (UPDATE ... RETURNING). Our locks keep every other
            # writer off these rows, so what it returns is exactly what we claimed.
            claimed = statements.claim(alias, locked)
        claim_ids = sorted((row[0] for row in claimed), key=locked_order.__getitem__)
        if len(claimed) < len(locked):
            # Rows left scheduled: held or blacked out (they stay), or no longer approved in this form.
            not_approved = list(
                Delivery.objects.filter(pk__any_of=locked, status__in=CLAIMABLE_DELIVERY_STATUSES)
                .exclude(post__status=PostStatus.APPROVED, post__current_approval_id=F("approval_id"))
                .values_list("pk", flat=True)
            )
            _withdraw(not_approved, _("The post is no longer approved in this form."))
    if blacked_out:
        held_posts = posts_hold_for_blackouts(blacked_out)
        logger.warning("posts %s held: inside a blackout with no override", held_posts)
    return claim_ids


def _lock_due() -> Any:
    """The claim's first statement: the due rows, locked (SKIP LOCKED: concurrent dispatchers split them), in
    the order they fell due. Held rows are left out here too, so that they never fill the batch."""
    due = Q(status__in=CLAIMABLE_DELIVERY_STATUSES, next_attempt_at__lte=Now(), channel__status=ChannelStatus.CONNECTED)
    return (
        Delivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(due)
        # Threads and first comments: a part waits for the part before it (scheduler/threads.py).
        .filter(_predecessor_published())
        .exclude(held_deliveries_now())
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)
    )


def _claimable_among(locked_ids: list[int]) -> Any:
    """Which of the locked rows are still claimable, by the whole condition again: as a new statement, it sees a
    hold (or a withdrawal) committed while the lock statement ran. The ids go as one array parameter
    (`AnyOf`), not one placeholder per id. As `pk IN (subquery)`, so the UPDATE has no joins of its own."""
    return Delivery.objects.filter(
        pk__in=Delivery.objects.filter(pk__any_of=locked_ids).filter(claimable_deliveries()).values("pk")
    )


def _claim_changes(lease_seconds: float) -> dict[str, Any]:
    """What the claim writes, all by the database clock."""
    return {"status": DeliveryStatus.CLAIMED, "lease_expires_at": _db_now_plus(lease_seconds), "updated_at": Now()}


# Stands for the locked ids while the claim's UPDATE is compiled; never a primary key.
_LOCKED_IDS_SLOT = [-1]


@dataclass(frozen=True)
class _ClaimStatements:
    """The claim's two statements, compiled by the ORM once per process and setting rather than every tick
    (issue 18: compiling them was most of a claim's Python). Only the locked ids change between ticks."""

    lease_seconds: float
    lock_sql: str
    lock_params: tuple[Any, ...]
    claim_sql: str
    claim_params: tuple[Any, ...]
    locked_ids_at: int

    def claim(self, alias: str, locked_ids: list[int]) -> list[tuple[Any, ...]]:
        """Claims those of `locked_ids` still claimable; returns their (id,) rows (UPDATE ... RETURNING)."""
        params = list(self.claim_params)
        params[self.locked_ids_at] = locked_ids
        check_state_write(Delivery.__name__)
        with connections[alias].cursor() as cursor:
            cursor.execute(self.claim_sql, params)
            return [tuple(row) for row in cursor.fetchall()]


_compiled_claims: dict[tuple[str, int, float], _ClaimStatements] = {}


def _claim_statements(alias: str, batch_size: int, lease_seconds: float) -> _ClaimStatements:
    """The compiled claim for this database, batch size and lease (settings tests override included). On
    PostgreSQL only; elsewhere (SQLite: `make run` without DATABASE_URL) each call goes through the ORM."""
    key = (alias, batch_size, lease_seconds)
    if key in _compiled_claims:
        return _compiled_claims[key]
    lock_sql, lock_params = _lock_due()[:batch_size].query.get_compiler(alias).as_sql()
    statements = _ClaimStatements(lease_seconds, lock_sql, tuple(lock_params), "", (), -1)
    if connections[alias].vendor != "postgresql":
        return statements
    claim_sql, claim_params = _update_sql(_claimable_among(_LOCKED_IDS_SLOT), _claim_changes(lease_seconds))
    slots = [i for i, param in enumerate(claim_params) if param == _LOCKED_IDS_SLOT]
    if len(slots) != 1:
        raise RuntimeError("The claim's UPDATE must take the locked ids as exactly one parameter.")
    statements = replace(
        statements,
        claim_sql=f"{claim_sql} RETURNING {_quoted_pk(alias)}",
        claim_params=tuple(claim_params),
        locked_ids_at=slots[0],
    )
    _compiled_claims[key] = statements
    return statements


@Field.register_lookup
class AnyOf(Lookup):
    """`pk__any_of=[1, 2, ...]`: `id = ANY(%s)` with the ids as one array parameter, rather than `IN` with one
    placeholder per id, each prepared by the ORM in Python (issue 18: most of a 500-row claim's Python). The
    planner still sees the array's length (psycopg2 sends it inline), so it keeps the primary-key index."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [int(value) for value in self.rhs]
        if connection.vendor != "postgresql":  # SQLite (make run without DATABASE_URL): a plain IN list
            return f"{lhs} IN ({', '.join(['%s'] * len(values)) or 'NULL'})", [*lhs_params, *values]
        return f"{lhs} = ANY(%s)", [*lhs_params, values]


def _update_returning(queryset: Any, values: Mapping[str, Any], *, returning: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """`queryset.update(**values)` as one `UPDATE ... RETURNING` statement: the ORM compiles the update
    (the same WHERE, joins as a subquery), PostgreSQL returns the columns of the rows it changed. The first
    of `returning` must be the primary key."""
    if connections[queryset.db].vendor != "postgresql":
        # SQLite (make run without DATABASE_URL; one writer at a time): read the rows, then update them.
        rows = list(queryset.values_list(*returning))
        queryset.model.objects.filter(pk__in=[row[0] for row in rows]).update(**values)
        return rows
    if "status" in values:
        check_state_write(queryset.model.__name__)  # as StateGuardedQuerySet.update does
    update_sql, params = _update_sql(queryset, values)
    table = connections[queryset.db].ops.quote_name(queryset.model._meta.db_table)
    columns = ", ".join(f"{table}.{connections[queryset.db].ops.quote_name(column)}" for column in returning)
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"{update_sql} RETURNING {columns}", params)
        return [tuple(row) for row in cursor.fetchall()]


def _update_sql(queryset: Any, values: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """The SQL and parameters of `queryset.update(**values)`, as QuerySet.update compiles them (related
    filters become `id IN (SELECT ...)`)."""
    query = queryset.query.chain(sql.UpdateQuery)
    query.add_update_values(values)
    compiler = query.get_compiler(queryset.db)
    compiler.pre_sql_setup()
    update_sql, params = compiler.as_sql()
    return str(update_sql), tuple(params)


def _quoted_pk(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    return f"{quote(Delivery._meta.db_table)}.{quote(str(Delivery._meta.pk.column))}"


def _withdraw(delivery_ids: list[int], reason: str) -> None:
    """Cancels deliveries the dispatcher has locked and must not send, with the reason on each."""
    if not delivery_ids:
        return
    Delivery.objects.filter(
        pk__in=delivery_ids, status__in=(*CLAIMABLE_DELIVERY_STATUSES, DeliveryStatus.CLAIMED)
    ).update(status=DeliveryStatus.CANCELLED, failure_message=reason, lease_expires_at=None, updated_at=timezone.now())
    for delivery_id in delivery_ids:
        logger.warning("delivery %s withdrawn before sending: %s", delivery_id, reason)


def deliveries_sweep_expired_leases() -> tuple[int, int]:
    """Returns (claims put back, sends marked unknown) for leases that ran out.

    A send whose lease ran out also has its open attempt closed (outcome `unknown`, finished now): its
    worker is gone or stalled, and the attempt log must not say `sending` forever. Should that worker
    still answer later, `_finish` records its real answer on the attempt row."""
    now = timezone.now()
    with transaction.atomic():
        # Safe: a claimed delivery has not sent any HTTP request yet.
        put_back = Delivery.objects.filter(status=DeliveryStatus.CLAIMED, lease_expires_at__lt=Now()).update(
            status=DeliveryStatus.SCHEDULED, lease_expires_at=None, updated_at=now
        )
        # Not safe to resend: the worker died while the request may have been on its way. Locked, so the
        # attempts closed below are exactly those of the deliveries moved here.
        quiet_ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.SENDING, lease_expires_at__lt=Now())
            .values_list("pk", flat=True)
        )
        gone_quiet = Delivery.objects.filter(pk__in=quiet_ids, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.UNKNOWN,
            lease_expires_at=None,
            failure_message=_("The worker stopped while sending; checking with the platform."),
            updated_at=now,
        )
        DeliveryAttempt.objects.filter(
            delivery_id__in=quiet_ids, outcome=ATTEMPT_SENDING, finished_at__isnull=True
        ).update(
            outcome=DeliveryStatus.UNKNOWN,
            finished_at=now,
            message=_("The worker stopped answering while sending; the platform may or may not have the post."),
        )
    return put_back, gone_quiet


def dispatch_tick(*, enqueue: Callable[[int], None], loop_name: str = "dispatcher") -> TickReport:
    """One round of the publisher: sweep leases, reconcile unknowns, claim due deliveries and hand
    each to `enqueue` after the claim has committed.

    Call it outside any transaction (the beat task, `publish_due` and the embedded loop do): inside an
    outer transaction a worker could not see the claims yet and would find nothing to send."""
    report = TickReport()
    report.swept_claims, report.swept_sends = deliveries_sweep_expired_leases()
    report.reconciled = deliveries_reconcile_unknown()
    report.claimed = deliveries_claim_due()
    for delivery_id in report.claimed:
        _enqueue_one(enqueue, delivery_id)
    PublisherHeartbeat.objects.update_or_create(
        name=loop_name, defaults={"last_tick_at": timezone.now(), "last_report": report.as_dict()}
    )
    return report


def _enqueue_one(enqueue: Callable[[int], None], delivery_id: int) -> None:
    try:
        enqueue(delivery_id)
    except Exception:  # noqa: BLE001 - the claim lease expires and the sweeper puts it back
        logger.exception("could not enqueue delivery %s; it is retried when its claim expires", delivery_id)


def channel_save_renewed_credentials(*, channel: Channel, adapter: PlatformAdapter) -> bool:
    """Saves what an adapter renewed (credentials) or learned (options) during a call, even a failed one,
    under the channel's row lock. Returns whether it saved anything."""
    return channel_save_adapter_changes(channel=channel, adapter=adapter)


def _delivery_content(delivery: Delivery) -> PostContent:
    """What the approved snapshot says for this delivery's channel, language and part, and, for a later part of
    a thread or a first comment, the remote post it answers. Raises LookupError if the snapshot lacks it."""
    content = channel_content(
        delivery.approval.content, delivery.channel, delivery.language, part=delivery.part, kind=delivery.kind
    )
    if delivery.after_id is None:
        return content
    return replace(content, reply_to=_reply_target(delivery))


def _reply_target(delivery: Delivery) -> ReplyTarget:
    """The post a chained delivery answers: the delivery before it (published: the claim waited for it), with
    the thread's first part as the root and whatever the platform answered about both (Bluesky's cids)."""
    parent = Delivery.objects.only("pk", "part", "remote_id", "post_id", "channel_id", "language", "approval_id").get(
        followers=delivery.pk
    )
    if not parent.remote_id:
        raise PublishError(_("The post this answers has no platform id; it was not sent."), permanent=True)
    root = parent
    if delivery.kind == DeliveryKind.POST and parent.part > 1:
        root = (
            Delivery.objects.filter(
                post_id=parent.post_id,
                channel_id=parent.channel_id,
                language=parent.language,
                approval_id=parent.approval_id,
                kind=DeliveryKind.POST,
                part=1,
            )
            .only("pk", "remote_id")
            .first()
            or parent
        )
    return ReplyTarget(
        remote_id=parent.remote_id,
        root_remote_id=root.remote_id,
        details={"cid": _published_answer(parent).get("cid", ""), "root_cid": _published_answer(root).get("cid", "")},
    )


def _published_answer(delivery: Delivery) -> dict[str, Any]:
    """The platform's answer to the attempt that published `delivery` ({} when none was kept, e.g. after a
    reconcile: adapters then look up what they need)."""
    response = (
        DeliveryAttempt.objects.filter(delivery_id=delivery.pk, remote_id=delivery.remote_id, response__isnull=False)
        .order_by("-number")
        .values_list("response", flat=True)
        .first()
    )
    return response if isinstance(response, dict) else {}


def _content_for(delivery: Delivery, adapter: PlatformAdapter, content: PostContent) -> PostContent:
    """What the adapter is handed for this delivery: the approved snapshot for its channel, who and where
    (post, department, channel; the post's other channels only for adapters whose payload lists them), and
    the media library's fitter on each attachment. Adapters read nothing from the database themselves."""
    post = delivery.post
    post_channels: tuple[tuple[str, str], ...] = ()
    if adapter.names_post_channels:
        post_channels = tuple((channel.platform, channel.display_name) for channel in post.channels.all())
    content = replace(
        content,
        post_id=post.pk,
        department_slug=post.department.slug,
        department_name=post.department.name,
        channel_name=delivery.channel.display_name,
        post_channels=post_channels,
        media=tuple(replace(item, fitter=media_fitter) for item in content.media),
    )
    # Layers above scheduler change what is sent without scheduler importing them (analytics' short links).
    for dotted_path in settings.CIVICPOST_DELIVERY_CONTENT_FILTERS:
        content = import_string(dotted_path)(delivery, content)
    return content


# --- Worker -------------------------------------------------------------------------------------


def _lock_post(post_id: int) -> None:
    """Takes the post's row lock at the start of a transaction that records a delivery's outcome.

    The services (post_update, post_cancel) lock the post and then its deliveries; taking the locks in
    the same order here means a cancel and a finishing worker cannot deadlock. And post_refresh_status,
    run under this lock, sees the committed outcome of the post's other deliveries, so two deliveries
    finishing together cannot both believe the other is still pending."""
    if not _writes_in_one_statement():  # SQLite (make run without DATABASE_URL): one writer at a time anyway
        list(Post.objects.select_for_update().filter(pk=post_id).order_by().values_list("pk", flat=True))
        return
    # What the ORM's query above compiles to, written once (issue 18: its compile was 5 % of a delivery's CPU).
    with connections[Post.objects.db].cursor() as cursor:
        cursor.execute(_sql_lock_post(), [post_id])
        cursor.fetchall()


@cache
def _sql_lock_post() -> str:
    post = _columns(Post)
    column = f"{post['table']}.{post['id']}"
    return f"SELECT {column} FROM {post['table']} WHERE {column} = %s FOR UPDATE"  # noqa: S608  # nosec B608 - names from _meta


def _locked_delivery_queryset(delivery_id: int) -> Any:
    """The delivery a worker sends, locked, with what it sends from: its post (and department), approval and
    channel."""
    return (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("post__department", "approval", "channel")
        .filter(pk=delivery_id)
    )


# Compiled once per database connection (issue 18: the ORM's compile of this join was a fifth of a worker's
# CPU per delivery); tests/scheduler/test_publishing_one_statement.py compares its rows with the ORM's.
_locked_delivery_query = CompiledQuery(_locked_delivery_queryset)


def _locked_delivery(delivery_id: int) -> Delivery | None:
    """`_locked_delivery_queryset(delivery_id).first()`, from the statement compiled once."""
    found = _locked_delivery_query.objects(delivery_id)
    return found[0] if found else None


def _start_sending(delivery_id: int) -> tuple[Delivery, DeliveryAttempt] | None:
    """Moves claimed -> sending and logs the attempt, committed before any HTTP is sent."""
    with transaction.atomic():
        delivery = _locked_delivery(delivery_id)
        if delivery is None or delivery.status != DeliveryStatus.CLAIMED:
            return None
        blocker = _publish_blocker(delivery)
        if blocker:
            delivery.status = DeliveryStatus.CANCELLED
            delivery.failure_message = blocker
            delivery.lease_expires_at = None
            delivery.save(update_fields=["status", "failure_message", "lease_expires_at", "updated_at"])
            logger.warning("delivery %s withdrawn before sending: %s", delivery.pk, blocker)
            return None
        attempt = _mark_sending(delivery)
    return delivery, attempt


def _mark_sending(delivery: Delivery) -> DeliveryAttempt:
    """claimed -> sending with one more attempt, and that attempt's row, for a delivery locked by the caller.
    The row is locked, so the in-memory copy follows the update without re-reading it."""
    now = timezone.now()
    if not _writes_in_one_statement():  # SQLite (make run without DATABASE_URL): two statements
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.SENDING,
            attempts=F("attempts") + 1,
            lease_expires_at=_db_now_plus(settings.CIVICPOST_SEND_LEASE_SECONDS),
            updated_at=now,
        )
        delivery.status = DeliveryStatus.SENDING
        delivery.attempts += 1
        return DeliveryAttempt.objects.create(delivery=delivery, number=delivery.attempts, outcome=ATTEMPT_SENDING)
    # One statement on PostgreSQL: the update and the attempt's insert (issue 18: a round trip and the ORM's
    # compile of both per delivery).
    params: list[Any] = [
        DeliveryStatus.SENDING.value,
        dt.timedelta(seconds=settings.CIVICPOST_SEND_LEASE_SECONDS),
        now,
        delivery.pk,
        now,
        ATTEMPT_SENDING,
    ]
    with connections[Delivery.objects.db].cursor() as cursor:
        cursor.execute(_sql_mark_sending(), params)
        attempt_id, number = cursor.fetchone()
    delivery.status = DeliveryStatus.SENDING
    delivery.attempts = number
    attempt = DeliveryAttempt(
        pk=attempt_id, delivery=delivery, number=number, started_at=now, outcome=ATTEMPT_SENDING, response=None
    )
    attempt._state.adding = False
    attempt._state.db = Delivery.objects.db
    return attempt


def _writes_in_one_statement() -> bool:
    """PostgreSQL: the worker's writes of a step go in one statement (WITH ... UPDATE ... RETURNING); SQLite (make
    run without DATABASE_URL) takes the ORM's path, one statement each. Both leave the same rows
    (tests/scheduler/test_publishing_one_statement.py compares them)."""
    return bool(connections[Delivery.objects.db].vendor == "postgresql")


@cache
def _sql_mark_sending() -> str:
    """`UPDATE delivery ... RETURNING` feeding `INSERT INTO attempt`: what `_mark_sending`'s ORM path does, with
    the lease on the database clock (STATEMENT_TIMESTAMP() is Django's Now() on PostgreSQL)."""
    delivery, attempt = _columns(Delivery), _columns(DeliveryAttempt)
    return (
        f"WITH sending AS (UPDATE {delivery['table']} SET {delivery['status']} = %s,"  # noqa: S608  # nosec B608 - names from _meta, values as parameters
        f" {delivery['attempts']} = {delivery['attempts']} + 1,"
        f" {delivery['lease_expires_at']} = STATEMENT_TIMESTAMP() + %s, {delivery['updated_at']} = %s"
        f" WHERE {delivery['id']} = %s RETURNING {delivery['id']}, {delivery['attempts']})"
        f" INSERT INTO {attempt['table']} ({attempt['delivery']}, {attempt['number']}, {attempt['started_at']},"
        f" {attempt['outcome']}, {attempt['message']}, {attempt['remote_id']}, {attempt['response']})"
        f" SELECT {delivery['id']}, {delivery['attempts']}, %s, %s, '', '', NULL FROM sending"
        f" RETURNING {attempt['id']}, {attempt['number']}"
    )


def _columns(model: Any) -> dict[str, str]:
    """{"table": the quoted table, field name: its quoted column} of a model, for the hand-written statements."""
    quote = connections[model.objects.db].ops.quote_name
    names = {field.name: quote(field.column) for field in model._meta.concrete_fields}
    return {"table": quote(model._meta.db_table), **names}


def _finish(
    delivery: Delivery,
    attempt: DeliveryAttempt,
    *,
    status: str,
    message: str = "",
    result: PublishResult | None = None,
    next_attempt_at: dt.datetime | None = None,
    raw: dict[str, Any] | None = None,
) -> bool:
    """Records an outcome: the delivery's status, its attempt, the post's status and the audit event, in
    one transaction. Returns False if this attempt no longer owns the delivery (it is then left alone).
    Either way `delivery.status` is its status afterwards.

    An attempt owns the delivery while it is the delivery's latest attempt (`Delivery.attempts` is its
    number; only `_start_sending` raises it, under the row lock) and the delivery still waits for it
    (`sending`, or `unknown` after the sweeper gave up waiting: the real answer still wins). A stalled
    older attempt answering while a newer one is in flight must not overwrite it: its own row is closed
    as `superseded`, keeping what it was told, and the delivery is not touched."""
    now = timezone.now()
    stops_chain = status in CHAIN_STOPPING_STATUSES
    if stops_chain:
        message = _chain_stopped_message(delivery, message)
    changes: dict[str, Any] = {
        "status": status,
        "failure_message": message,
        "lease_expires_at": None,
        "updated_at": now,
    }
    if result is not None:
        changes.update(remote_id=result.remote_id, permalink=result.permalink, published_at=now)
    if next_attempt_at is not None:
        changes["next_attempt_at"] = next_attempt_at
    waiting_statuses = [DeliveryStatus.SENDING, DeliveryStatus.UNKNOWN]
    if status == DeliveryStatus.PUBLISHED:
        # The post is live. If the reconciler had meanwhile put the delivery back for another try (it
        # found nothing yet) and no newer attempt has started, sending again would post twice.
        waiting_statuses += [DeliveryStatus.SCHEDULED, DeliveryStatus.RETRY_WAIT, DeliveryStatus.CLAIMED]
    attempt_record = {
        "finished_at": now,
        "remote_id": result.remote_id if result else "",
        "response": (result.raw if result else raw) or None,
    }
    audit = _outcome_audit_values(delivery, status=status, message=message, result=result)
    with transaction.atomic():
        _lock_post(delivery.post_id)
        if _writes_in_one_statement():
            updated, post_refreshed = _record_outcome(
                delivery,
                attempt,
                changes=changes,
                waiting_statuses=waiting_statuses,
                attempt_values={"outcome": status, "message": message, **attempt_record},
                audit=audit,
                # Only a delivery that is done can finish its post; after a failure, once its chain is stopped.
                refresh_post=status == DeliveryStatus.PUBLISHED,
            )
        else:  # SQLite (make run without DATABASE_URL): the same writes, one statement each
            updated = bool(
                Delivery.objects.filter(pk=delivery.pk, attempts=attempt.number, status__in=waiting_statuses).update(
                    **changes
                )
            )
            post_refreshed = False
            if updated:
                DeliveryAttempt.objects.filter(pk=attempt.pk).update(outcome=status, message=message, **attempt_record)
                if audit is not None:
                    audit_record(**audit)
        if updated:
            if stops_chain:
                _stop_chain(delivery, now=now)
            if status not in PENDING_DELIVERY_STATUSES and not post_refreshed:
                # Only a delivery that is done can finish its post.
                post_refresh_status(post_id=delivery.post_id)
            _announce_outcome(delivery, status=status, message=message)
        else:
            row = Delivery.objects.filter(pk=delivery.pk).values("attempts", "status").first()
            current: Mapping[str, Any] = row or {}
            DeliveryAttempt.objects.filter(pk=attempt.pk).update(
                outcome=ATTEMPT_SUPERSEDED,
                message=_superseded_message(attempt, current, status=status, message=message),
                **attempt_record,
            )
            logger.warning(
                "attempt %s of delivery %s answered %s after the delivery moved on (%s); recorded as superseded",
                attempt.number,
                delivery.pk,
                status,
                current.get("status"),
            )
    if updated:
        delivery.status = status
    else:
        delivery.refresh_from_db(fields=["status"])
    return bool(updated)


# A part that ends so stops its chain: the parts after it (and a first comment) are never sent.
CHAIN_STOPPING_STATUSES = (DeliveryStatus.FAILED, DeliveryStatus.NEEDS_ATTENTION)


def _followers_of(delivery_ids: list[int]) -> list[Delivery]:
    return list(Delivery.objects.filter(after_id__in=delivery_ids).only("pk", "kind", "part", "part_count", "status"))


def _chain_stopped_message(delivery: Delivery, message: str) -> str:
    """Returns `message` saying where a chain stopped: "Part 3 of 5 failed on Bluesky: …; parts 4–5 not sent."
    A delivery with nothing after it keeps its message (one query, on failures only)."""
    label = delivery.channel.platform_label
    if delivery.kind == DeliveryKind.FIRST_COMMENT:
        return _("The first comment was not published on %(platform)s (the post itself is published): %(message)s") % {
            "platform": label,
            "message": message,
        }
    followers = _followers_of([delivery.pk])
    if not followers and delivery.part_count <= 1:
        return message
    said = message.rstrip(". ")
    notes: list[str] = []
    if delivery.part < delivery.part_count:
        rest = delivery.part + 1
        if rest == delivery.part_count:
            notes.append(_("part %(n)d not sent") % {"n": rest})
        else:
            notes.append(_("parts %(first)d–%(last)d not sent") % {"first": rest, "last": delivery.part_count})
    if any(follower.kind == DeliveryKind.FIRST_COMMENT for follower in followers):
        notes.append(_("the first comment not sent"))
    if delivery.part_count > 1:
        where = _("Part %(part)d of %(count)d failed on %(platform)s: %(message)s") % {
            "part": delivery.part,
            "count": delivery.part_count,
            "platform": label,
            "message": said,
        }
    else:
        where = said
    return f"{where}; {', '.join(notes)}." if notes else f"{where}."


def _stop_chain(delivery: Delivery, *, now: dt.datetime) -> int:
    """Cancels every delivery waiting, directly or through others, for `delivery` (which failed or needs a
    person): they are never sent, and say why. Returns how many were cancelled."""
    if delivery.kind == DeliveryKind.FIRST_COMMENT:
        return 0
    reason = (
        _("Not sent: part %(part)d of %(count)d failed on %(platform)s.")
        % {"part": delivery.part, "count": delivery.part_count, "platform": delivery.channel.platform_label}
        if delivery.part_count > 1
        else _("Not sent: the post failed on %(platform)s.") % {"platform": delivery.channel.platform_label}
    )
    cancelled = 0
    waiting = [delivery.pk]
    while waiting:
        followers = [f.pk for f in _followers_of(waiting) if f.status in WITHDRAWABLE_DELIVERY_STATUSES]
        if followers:
            cancelled += Delivery.objects.filter(pk__in=followers, status__in=WITHDRAWABLE_DELIVERY_STATUSES).update(
                status=DeliveryStatus.CANCELLED, failure_message=reason, lease_expires_at=None, updated_at=now
            )
        waiting = followers
    return cancelled


def _superseded_message(attempt: DeliveryAttempt, current: Mapping[str, Any], *, status: str, message: str) -> str:
    if current.get("attempts", 0) > attempt.number:
        why = _("Attempt %(newer)d had started before this answer came.") % {"newer": current["attempts"]}
    else:
        why = _("The delivery had moved on (%(status)s) before this answer came.") % {
            "status": current.get("status", "")
        }
    answer = _("This attempt's answer: %(status)s.") % {"status": status}
    return " ".join(part for part in (why, answer, message) if part)


AUDITED_OUTCOMES: dict[str, AuditAction] = {
    DeliveryStatus.PUBLISHED: AuditAction.POST_PUBLISHED,
    DeliveryStatus.FAILED: AuditAction.POST_FAILED,
    DeliveryStatus.NEEDS_ATTENTION: AuditAction.POST_NEEDS_ATTENTION,
}


def _outcome_audit_values(
    delivery: Delivery, *, status: str, message: str = "", result: PublishResult | None = None
) -> dict[str, Any] | None:
    """The audit event an outcome records (audit_record's arguments), or None for an outcome not audited."""
    action = AUDITED_OUTCOMES.get(status)
    if action is None:
        return None
    return {
        "action": action,
        "department_id": delivery.post.department_id,
        "target": delivery.post,
        "changes": {
            "delivery": delivery.pk,
            "channel": delivery.channel_id,
            "remote_id": result.remote_id if result else "",
        },
        "message": message,
    }


def _audit_outcome(delivery: Delivery, *, status: str, message: str = "", result: PublishResult | None = None) -> None:
    """Tells of an audited outcome and appends its audit event (the reconciler's path, one statement each)."""
    audit = _outcome_audit_values(delivery, status=status, message=message, result=result)
    if audit is None:
        return
    _announce_outcome(delivery, status=status, message=message)
    audit_record(**audit)


def _announce_outcome(delivery: Delivery, *, status: str, message: str = "") -> None:
    """Tells people and the other apps of an audited outcome, in its transaction: failed / needs attention
    email (after commit), and scheduler.events.delivery_finished (the webhooks' outbox)."""
    if status not in AUDITED_OUTCOMES:
        return
    notify_delivery_outcome(delivery, status=status, message=message)
    events.delivery_finished.send(sender=Delivery, delivery=delivery, status=status, message=message)


def _record_outcome(
    delivery: Delivery,
    attempt: DeliveryAttempt,
    *,
    changes: Mapping[str, Any],
    waiting_statuses: Sequence[str],
    attempt_values: Mapping[str, Any],
    audit: Mapping[str, Any] | None,
    refresh_post: bool,
) -> tuple[bool, bool]:
    """PostgreSQL: in one statement, the delivery's conditional update (this attempt still owns it) and, only
    if it matched, its attempt's update, the audit event and (`refresh_post`) the post's post_refresh_status.
    Returns (the delivery was updated, the post's status was refreshed). The caller holds the post's lock."""
    connection = connections[Delivery.objects.db]
    delivery_fields, attempt_fields = list(changes), list(attempt_values)
    # The audit app writes its event: a part of this statement, run only when the outcome's part changed the row.
    audit_sql, audit_params = (
        audit_insert_after(step="outcome", occurred_at=changes["updated_at"], **audit)
        if audit is not None
        else ("", [])
    )
    params: list[Any] = [
        *_prepared(Delivery, changes, connection),
        delivery.pk,
        attempt.number,
        [str(value) for value in waiting_statuses],
        *_prepared(DeliveryAttempt, attempt_values, connection),
        attempt.pk,
    ]
    post_sql = ""
    if refresh_post:
        post_sql, post_params = post_finish_after(
            step="outcome", post_id=delivery.post_id, finishing_delivery_id=delivery.pk, now=changes["updated_at"]
        )
        params += post_params
    params += audit_params
    sql_text = _sql_record_outcome(tuple(delivery_fields), tuple(attempt_fields), post_sql, audit_sql)
    with connection.cursor() as cursor:
        cursor.execute(sql_text, params)
        updated, post_refreshed = cursor.fetchone()
    return bool(updated), bool(post_refreshed)


def _prepared(model: Any, values: Mapping[str, Any], connection: Any) -> list[Any]:
    """The values as the ORM would send them for these fields (JSON, dates, addresses)."""
    get_field = model._meta.get_field
    return [get_field(name).get_db_prep_save(value, connection) for name, value in values.items()]


@cache
def _sql_record_outcome(
    delivery_fields: tuple[str, ...], attempt_fields: tuple[str, ...], post_sql: str, audit_sql: str
) -> str:
    """The statement of `_record_outcome` for these fields and parts (a handful of shapes, built once each)."""
    delivery, attempt = _columns(Delivery), _columns(DeliveryAttempt)
    sets = ", ".join(f"{delivery[name]} = %s" for name in delivery_fields)
    attempt_sets = ", ".join(f"{attempt[name]} = %s" for name in attempt_fields)
    parts = [
        f"WITH outcome AS (UPDATE {delivery['table']} SET {sets}"  # noqa: S608  # nosec B608 - names from _meta, values as parameters
        f" WHERE {delivery['id']} = %s AND {delivery['attempts']} = %s AND {delivery['status']} = ANY(%s)"
        f" RETURNING {delivery['id']})",
        f"attempt AS (UPDATE {attempt['table']} SET {attempt_sets}"  # noqa: S608  # nosec B608 - names from _meta, values as parameters
        f" WHERE {attempt['id']} = %s AND EXISTS (SELECT 1 FROM outcome) RETURNING 1)",
    ]
    refreshed = "0"
    if post_sql:  # the post's status, scheduler.services.posts.post_finish_after
        parts.append(f"post AS ({post_sql} RETURNING 1)")
        refreshed = "(SELECT 1 FROM outcome)"
    if audit_sql:
        parts.append(f"audit AS ({audit_sql} RETURNING 1)")
    return f"{', '.join(parts)} SELECT (SELECT count(*) FROM outcome), {refreshed}"  # noqa: S608  # nosec B608 - names from _meta, values as parameters


def _retry_or_fail(
    delivery: Delivery, attempt: DeliveryAttempt, *, wait_seconds: float, message: str, raw: dict[str, Any]
) -> None:
    if delivery.attempts >= settings.CIVICPOST_MAX_ATTEMPTS:
        if _an_earlier_attempt_may_have_arrived(delivery, attempt):
            _finish(
                delivery,
                attempt,
                status=DeliveryStatus.NEEDS_ATTENTION,
                message=_("Gave up after %(n)d attempts, and an earlier one may have arrived. %(check)s")
                % {"n": delivery.attempts, "check": NOT_CONFIRMED_MESSAGE},
                raw=raw,
            )
            return
        _finish(
            delivery,
            attempt,
            status=DeliveryStatus.FAILED,
            message=_("Gave up after %(n)d attempts. Last answer: %(message)s")
            % {"n": delivery.attempts, "message": message},
            raw=raw,
        )
        return
    _finish(
        delivery,
        attempt,
        status=DeliveryStatus.RETRY_WAIT,
        message=message,
        next_attempt_at=timezone.now() + dt.timedelta(seconds=wait_seconds),
        raw=raw,
    )


def _an_earlier_attempt_may_have_arrived(delivery: Delivery, current: DeliveryAttempt) -> bool:
    """True when an earlier attempt ended without a clear answer (unknown, its worker died while sending,
    or it answered after it was superseded): calling the delivery 'failed' could then hide a live post."""
    return (
        delivery.attempt_log.exclude(pk=current.pk).filter(outcome__in=ATTEMPT_OUTCOMES_THAT_MAY_HAVE_ARRIVED).exists()
    )


def retry_backoff_seconds(attempts: int) -> float:
    return min(3600.0, 30.0 * (2.0 ** max(0, attempts - 1)))


def delivery_publish(*, delivery_id: int) -> str | None:
    """Sends one claimed delivery to its platform. Returns the final status, or None if another
    worker has it or it was withdrawn."""
    started = _start_sending(delivery_id)
    if started is None:
        return None
    delivery, attempt = started
    channel = delivery.channel
    adapter = None
    try:
        content = _delivery_content(delivery)
        adapter = adapter_for_channel(channel)
        content = _content_for(delivery, adapter, content)
        result = adapter.publish(content, idempotency_key=str(delivery.idempotency_key))
    except RateLimited as error:
        _retry_or_fail(delivery, attempt, wait_seconds=error.retry_after, message=error.message, raw=error.raw)
    except AuthExpired as error:
        # Nothing was published; hold the delivery until a department admin reconnects.
        channel.__class__.objects.filter(pk=channel.pk).update(
            status=ChannelStatus.NEEDS_RECONNECT, status_message=error.message
        )
        _finish(
            delivery,
            attempt,
            status=DeliveryStatus.SCHEDULED,
            message=_("Waiting: the channel must be reconnected by a department admin (%(reason)s).")
            % {"reason": error.message},
            raw=error.raw,
        )
    except Duplicate as error:
        if error.existing is not None:
            _finish(delivery, attempt, status=DeliveryStatus.PUBLISHED, result=error.existing)
        else:
            _finish(
                delivery,
                attempt,
                status=DeliveryStatus.NEEDS_ATTENTION,
                message=_("The platform says this post is already there. %(msg)s") % {"msg": NOT_CONFIRMED_MESSAGE},
                raw=error.raw,
            )
    except OutcomeUnknown as error:
        _finish(delivery, attempt, status=DeliveryStatus.UNKNOWN, message=error.message, raw=error.raw)
    except PublishError as error:
        if error.permanent:
            _finish(delivery, attempt, status=DeliveryStatus.FAILED, message=error.message, raw=error.raw)
        else:
            _retry_or_fail(
                delivery,
                attempt,
                wait_seconds=retry_backoff_seconds(delivery.attempts),
                message=error.message,
                raw=error.raw,
            )
    except AdapterError as error:
        _finish(delivery, attempt, status=DeliveryStatus.UNKNOWN, message=error.message, raw=error.raw)
    except Exception:
        # A bug or an unexpected library error: the request may have gone out, so never resend blindly.
        logger.exception("unexpected error publishing delivery %s", delivery.pk)
        _finish(
            delivery,
            attempt,
            status=DeliveryStatus.UNKNOWN,
            message=_("An unexpected error happened while sending; checking with the platform."),
        )
    else:
        _finish(delivery, attempt, status=DeliveryStatus.PUBLISHED, result=result)
    finally:
        if adapter is not None:
            channel_save_renewed_credentials(channel=channel, adapter=adapter)
    return delivery.status


# --- Reconciler ---------------------------------------------------------------------------------


def delivery_reconcile(*, delivery_id: int) -> str | None:
    """Decides one `unknown` delivery with the platform's help. Returns its new status."""
    delivery = (
        Delivery.objects.select_related("channel", "approval", "post__department")
        .filter(pk=delivery_id, status=DeliveryStatus.UNKNOWN)
        .first()
    )
    if delivery is None:
        return None
    last_attempt = delivery.attempt_log.order_by("-number").first()
    sent_at = last_attempt.started_at if last_attempt else delivery.updated_at
    # The first attempt that may have reached the platform (its outcome unclear, or its worker died while sending):
    # a platform looked up by text and time must search from there (adapters never read attempts themselves).
    first_sent_at = (
        delivery.attempt_log.filter(outcome__in=ATTEMPT_OUTCOMES_THAT_MAY_HAVE_ARRIVED)
        .order_by("started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    now = timezone.now()
    found: PublishResult | None = None
    adapter: PlatformAdapter | None = None
    give_up_at = sent_at + dt.timedelta(minutes=settings.CIVICPOST_RECONCILE_GIVE_UP_MINUTES)
    try:
        # Inside the try: a platform that can no longer be loaded cannot tell either.
        adapter = adapter_for_channel(delivery.channel)
        found = adapter.reconcile(
            _content_for(delivery, adapter, _delivery_content(delivery)),
            idempotency_key=str(delivery.idempotency_key),
            sent_at=sent_at,
            first_sent_at=first_sent_at,
        )
    except CheckAgainLater as error:
        if now < give_up_at:
            Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.UNKNOWN).update(
                next_attempt_at=now + dt.timedelta(seconds=error.retry_after), updated_at=now
            )
            if adapter is not None:
                channel_save_renewed_credentials(channel=delivery.channel, adapter=adapter)
            return DeliveryStatus.UNKNOWN
        changes: dict[str, Any] = {"status": DeliveryStatus.NEEDS_ATTENTION, "failure_message": NOT_CONFIRMED_MESSAGE}
    except Exception as error:  # noqa: BLE001 - any failure means "cannot tell"
        if not isinstance(error, OutcomeUnknown):
            logger.warning("reconciling delivery %s failed: %s", delivery.pk, type(error).__name__)
        changes = {"status": DeliveryStatus.NEEDS_ATTENTION, "failure_message": NOT_CONFIRMED_MESSAGE}
    else:
        if found is not None:
            changes = {
                "status": DeliveryStatus.PUBLISHED,
                "remote_id": found.remote_id,
                "permalink": found.permalink,
                "published_at": now,
                "failure_message": "",
            }
        elif delivery.attempts >= settings.CIVICPOST_MAX_ATTEMPTS:
            # Out of attempts after an unclear outcome: a person decides (the post may be live).
            changes = {
                "status": DeliveryStatus.NEEDS_ATTENTION,
                "failure_message": _("Still not confirmed after %(n)d attempts. %(check)s")
                % {"n": delivery.attempts, "check": NOT_CONFIRMED_MESSAGE},
            }
        else:
            # Proved absent (or safe to replay with the same idempotency key): send again.
            changes = {"status": DeliveryStatus.SCHEDULED, "next_attempt_at": now, "failure_message": ""}
    if adapter is not None:
        channel_save_renewed_credentials(channel=delivery.channel, adapter=adapter)
    if changes["status"] in CHAIN_STOPPING_STATUSES:
        changes["failure_message"] = _chain_stopped_message(delivery, changes["failure_message"])
    with transaction.atomic():
        _lock_post(delivery.post_id)
        updated = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.UNKNOWN).update(
            updated_at=now, **changes
        )
        if updated:
            _close_attempts_after_reconcile(delivery, last_attempt, found=found, now=now)
            if changes["status"] in CHAIN_STOPPING_STATUSES:
                _stop_chain(delivery, now=now)
            post_refresh_status(post_id=delivery.post_id)
            _audit_outcome(delivery, status=changes["status"], message=changes.get("failure_message", ""), result=found)
    return changes["status"] if updated else None


def _close_attempts_after_reconcile(
    delivery: Delivery, last_attempt: DeliveryAttempt | None, *, found: PublishResult | None, now: dt.datetime
) -> None:
    """After the reconciler decided an `unknown` delivery: no attempt of it is left `sending` (a worker
    killed mid-send), and the attempt that left it unknown says so when the platform confirmed the post."""
    DeliveryAttempt.objects.filter(delivery=delivery, outcome=ATTEMPT_SENDING, finished_at__isnull=True).update(
        outcome=DeliveryStatus.UNKNOWN,
        finished_at=now,
        message=_("The worker stopped answering while sending; the platform may or may not have the post."),
    )
    if found is None or last_attempt is None:
        return
    confirmed = _("Confirmed later: the platform has the post.")
    last_attempt.refresh_from_db(fields=["message"])
    DeliveryAttempt.objects.filter(pk=last_attempt.pk, outcome__in=ATTEMPT_OUTCOMES_THAT_MAY_HAVE_ARRIVED).update(
        outcome=DeliveryStatus.PUBLISHED,
        remote_id=found.remote_id,
        message=" ".join(part for part in (last_attempt.message, confirmed) if part),
    )


def deliveries_reconcile_unknown(*, limit: int = 50) -> int:
    ids = list(
        Delivery.objects.filter(status=DeliveryStatus.UNKNOWN, next_attempt_at__lte=Now())
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    decided = 0
    for delivery_id in ids:
        # One delivery that cannot be reconciled (a bug, a database error) must not stop the tick:
        # the claims after it are other departments' posts. It stays `unknown` and is tried again.
        try:
            decided += 1 if delivery_reconcile(delivery_id=delivery_id) else 0
        except Exception:
            logger.exception("reconciling delivery %s failed; trying again next tick", delivery_id)
    return decided
