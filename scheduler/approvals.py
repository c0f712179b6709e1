"""Approval policies, evaluated (read only): who may approve a post at which step, and how far its approval
has come. The policy rows are departments.models.ApprovalStep; the writes are scheduler.services.review.

A department's policy is its ApprovalStep rows in order; without rows it is the default policy, one step
that any one approver of the department (or its admin) or any communications manager completes, which is
how CivicPost approved before policies existed. For each step:

- its *sources* are the people the step names (department approvers, department admins, communications
  managers, named people), active accounts only;
- its *approvers* are the sources minus the post's author (nobody approves their own post, at any step) and
  minus whoever approved an earlier step of this version of the post (each step is another person);
- it is *complete* when any one approver approved it ("any") or every approver did ("all"; a step with
  nobody left to approve never completes and says so).

Votes (scheduler.models.ApprovalVote) count only for the round of review and the content they were cast
on: the same round key (post_round_keys) and the same content hash. Any edit, request for changes or new
submission starts a new round, so earlier votes stop counting without being deleted (they stay as history).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Max, Prefetch, prefetch_related_objects
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from departments.models import ApprovalMode, ApprovalStep, Membership, Role
from departments.selectors import communications_manager_ids
from medialibrary.models import PostMedia
from scheduler.models import ApprovalVote, Post, PostReview, PostStatus, PostVersion
from scheduler.snapshots import approval_content_for, content_hash

DEFAULT_STEP_NAME = gettext_lazy("Approval")


@dataclass(frozen=True)
class PolicyStep:
    """One step of a department's policy, read from an ApprovalStep row or the default."""

    number: int  # 1-based position in the policy
    name: str
    mode: str
    department_approvers: bool
    department_admins: bool
    communications_managers: bool
    user_ids: frozenset[int] = frozenset()
    step_id: int | None = None

    @property
    def sources_label(self) -> str:
        parts = []
        if self.department_approvers:
            parts.append(_("department approvers"))
        if self.department_admins and not self.department_approvers:
            parts.append(_("department admins"))
        if self.communications_managers:
            parts.append(_("communications managers"))
        if self.user_ids:
            parts.append(_("named people"))
        return ", ".join(parts) or _("nobody")


def default_policy() -> list[PolicyStep]:
    return [
        PolicyStep(
            number=1,
            name=str(DEFAULT_STEP_NAME),
            mode=ApprovalMode.ANY,
            department_approvers=True,
            department_admins=False,
            communications_managers=True,
        )
    ]


def _steps_from_rows(rows: Iterable[ApprovalStep]) -> list[PolicyStep]:
    return [
        PolicyStep(
            number=number,
            name=row.name,
            mode=row.mode,
            department_approvers=row.department_approvers,
            department_admins=row.department_admins,
            communications_managers=row.communications_managers,
            user_ids=frozenset(user.pk for user in row.users.all() if user.is_active),
            step_id=row.pk,
        )
        for number, row in enumerate(rows, start=1)
    ]


class PolicyCache:
    """Reads each department's policy and members once, for pages and jobs that look at many posts."""

    def __init__(self) -> None:
        self._policies: dict[int, list[PolicyStep]] = {}
        self._members: dict[int, dict[str, set[int]]] = {}
        self._managers: set[int] | None = None
        self._rounds: dict[int, str] = {}

    def policy(self, department_id: int) -> list[PolicyStep]:
        if department_id not in self._policies:
            rows = ApprovalStep.objects.filter(department_id=department_id).prefetch_related("users")
            self._policies[department_id] = _steps_from_rows(rows.order_by("position", "id")) or default_policy()
        return self._policies[department_id]

    def preload(self, department_ids: Iterable[int]) -> None:
        missing = {d for d in department_ids if d not in self._policies}
        if not missing:
            return
        rows: dict[int, list[ApprovalStep]] = defaultdict(list)
        for row in (
            ApprovalStep.objects.filter(department_id__in=missing).prefetch_related("users").order_by("position", "id")
        ):
            rows[row.department_id].append(row)
        for department_id in missing:
            self._policies[department_id] = _steps_from_rows(rows.get(department_id, [])) or default_policy()
        members: dict[int, dict[str, set[int]]] = {d: {"approvers": set(), "admins": set()} for d in missing}
        for department_id, user_id, role in Membership.objects.filter(
            department_id__in=missing, user__is_active=True
        ).values_list("department_id", "user_id", "role"):
            if role in (Role.APPROVER, Role.ADMIN):
                members[department_id]["approvers"].add(user_id)
            if role == Role.ADMIN:
                members[department_id]["admins"].add(user_id)
        self._members.update(members)

    def _department_members(self, department_id: int) -> dict[str, set[int]]:
        if department_id not in self._members:
            self._load_members(department_id)
        return self._members[department_id]

    def _load_members(self, department_id: int) -> None:
        found: dict[str, set[int]] = {"approvers": set(), "admins": set()}
        for user_id, role in Membership.objects.filter(department_id=department_id, user__is_active=True).values_list(
            "user_id", "role"
        ):
            if role in (Role.APPROVER, Role.ADMIN):
                found["approvers"].add(user_id)
            if role == Role.ADMIN:
                found["admins"].add(user_id)
        self._members[department_id] = found

    def preload_rounds(self, post_ids: Iterable[int]) -> None:
        self._rounds.update(post_round_keys(post_ids))

    def round_key(self, post: Post) -> str:
        if post.pk not in self._rounds:
            self.preload_rounds([post.pk])
        return self._rounds[post.pk]

    def managers(self) -> set[int]:
        if self._managers is None:
            self._managers = communications_manager_ids()
        return self._managers

    def sources(self, step: PolicyStep, department_id: int) -> set[int]:
        """Returns the ids of everyone the step names (before removing the author and earlier voters)."""
        ids: set[int] = set(step.user_ids)
        if step.department_approvers or step.department_admins:
            members = self._department_members(department_id)
            if step.department_approvers:
                ids |= members["approvers"]
            if step.department_admins:
                ids |= members["admins"]
        if step.communications_managers:
            ids |= self.managers()
        return ids


@dataclass
class StepProgress:
    """Where one step of a post's policy stands, for the post page and the rules."""

    step: PolicyStep
    state: str  # "done", "current" or "upcoming"
    approver_ids: set[int]
    voter_ids: list[int] = field(default_factory=list)  # valid votes at this step, in order
    approvers: list[Any] = field(default_factory=list)  # users, filled by approval_progress
    voters: list[Any] = field(default_factory=list)
    waiting_for: list[Any] = field(default_factory=list)  # "all" steps: who has not approved yet

    @property
    def number(self) -> int:
        return self.step.number

    @property
    def name(self) -> str:
        return self.step.name

    @property
    def mode_label(self) -> str:
        return str(ApprovalMode(self.step.mode).label)

    @property
    def is_all(self) -> bool:
        return self.step.mode == ApprovalMode.ALL

    @property
    def nobody_can_act(self) -> bool:
        return self.state != "done" and not self.approver_ids

    @property
    def is_current(self) -> bool:
        return self.state == "current"


def post_round_keys(post_ids: Iterable[int]) -> dict[int, str]:
    """Returns {post id: round key}: the post's latest review event (submission, request for changes,
    return after an edit, ...) and the number of its latest saved version. Any edit, request for changes or
    new submission changes it, even under a frozen clock. Two queries for any number of posts."""
    ids = list(post_ids)
    reviews = dict(
        PostReview.objects.filter(post_id__in=ids)
        .order_by()
        .values("post_id")
        .annotate(last=Max("id"))
        .values_list("post_id", "last")
    )
    versions = dict(
        PostVersion.objects.filter(post_id__in=ids)
        .order_by()
        .values("post_id")
        .annotate(last=Max("number"))
        .values_list("post_id", "last")
    )
    return {i: f"{reviews.get(i, 0)}.{versions.get(i, 0)}" for i in ids}


def post_round_key(post: Post) -> str:
    return post_round_keys([post.pk])[post.pk]


def post_content_hash(post: Post) -> str:
    return content_hash(approval_content_for(post))


def valid_votes(
    post: Post, votes: Iterable[ApprovalVote] | None = None, *, round_key: str | None = None
) -> list[ApprovalVote]:
    """Returns the votes cast in this round of review on exactly the post's current content, oldest first."""
    round_key = round_key if round_key is not None else post_round_key(post)
    if votes is None:
        votes = ApprovalVote.objects.filter(post=post, round_key=round_key)
    this_round = [v for v in votes if v.round_key == round_key]
    if not this_round:
        return []
    # The hash costs a look at the post's channels and media: only worth it when there are votes.
    digest = post_content_hash(post)
    return sorted((v for v in this_round if v.content_hash == digest), key=lambda v: (v.created_at, v.pk))


def step_states(
    post: Post, *, votes: list[ApprovalVote] | None = None, cache: PolicyCache | None = None
) -> list[StepProgress]:
    """Returns every step of the post's policy with its state and the ids of who may approve it.

    A post that is not waiting for approval has no current step (approved and later ones show every step
    as done; drafts show them as upcoming)."""
    cache = cache or PolicyCache()
    steps = cache.policy(post.department_id)
    votes = valid_votes(post, votes, round_key=cache.round_key(post)) if post.status == PostStatus.SUBMITTED else []
    by_step: dict[int, list[int]] = defaultdict(list)
    for vote in votes:
        by_step[vote.step_number].append(vote.voter_id)
    earlier_voters: set[int] = set()
    found_current = False
    progress: list[StepProgress] = []
    for step in steps:
        approvers = cache.sources(step, post.department_id) - {post.author_id} - earlier_voters
        voters = [voter for voter in by_step.get(step.number, []) if voter in approvers]
        if post.status in (PostStatus.APPROVED, PostStatus.PUBLISHED):
            state = "done"
        elif post.status != PostStatus.SUBMITTED or found_current:
            state = "upcoming"
        elif _complete(step, approvers, voters):
            state = "done"
        else:
            state = "current"
            found_current = True
        progress.append(StepProgress(step=step, state=state, approver_ids=approvers, voter_ids=voters))
        earlier_voters |= set(voters)
    return progress


def _complete(step: PolicyStep, approvers: set[int], voters: list[int]) -> bool:
    if not approvers:
        return False
    if step.mode == ApprovalMode.ALL:
        return approvers <= set(voters)
    return bool(voters)


def current_step(progress: list[StepProgress]) -> StepProgress | None:
    return next((p for p in progress if p.state == "current"), None)


def approval_progress(post: Post) -> list[StepProgress]:
    """Returns the post's policy steps with their state, who may approve each, who did, and (for "all"
    steps) who still has to; with the users loaded for display (a fixed number of queries)."""
    progress = step_states(post)
    ids: set[int] = set()
    for item in progress:
        ids |= item.approver_ids | set(item.voter_ids)
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=ids)}

    def sort_key(user: Any) -> tuple[str, int]:
        return ((user.get_full_name() or user.email or user.get_username()).lower(), user.pk)

    for item in progress:
        item.approvers = sorted((users[i] for i in item.approver_ids if i in users), key=sort_key)
        item.voters = [users[i] for i in item.voter_ids if i in users]
        if item.is_all:
            item.waiting_for = [u for u in item.approvers if u.pk not in set(item.voter_ids)]
    return progress


def approval_refusal(*, user: User | AnonymousUser, post: Post, progress: list[StepProgress]) -> str:
    """Returns why `user` may not approve the post at its current step now ("" when they may)."""
    if post.status != PostStatus.SUBMITTED:
        return _("Only posts waiting for approval can be approved.")
    if post.author_id == user.pk:
        return _("Nobody approves their own post; another approver must review it.")
    current = current_step(progress)
    if current is None:
        return _("This post has no approval step waiting.")
    for item in progress:
        if user.pk in item.voter_ids:
            if item is current:
                return _("You have already approved this step. It waits for the others named in it.")
            return _(
                "You already approved this post at step %(done)s (%(name)s). Step %(number)s needs another person."
            ) % {"done": item.number, "name": item.name, "number": current.number}
    if user.pk not in current.approver_ids:
        return _("Step %(number)s (%(name)s) is for %(sources)s; you cannot approve it.") % {
            "number": current.number,
            "name": current.name,
            "sources": current.step.sources_label,
        }
    return ""


def user_may_review(*, user: User | AnonymousUser, progress: list[StepProgress]) -> bool:
    """Whether `user` may send the post back for changes: they may approve a step that is not done yet."""
    return any(user.pk in item.approver_ids for item in progress if item.state != "done")


def posts_user_can_approve_now(*, user: User | AnonymousUser, posts: Iterable[Post]) -> list[Post]:
    """Returns those of `posts` (submitted ones) that wait for `user`'s approval at their current step."""
    posts = [p for p in posts if p.status == PostStatus.SUBMITTED and p.author_id != user.pk]
    if not posts:
        return []
    cache = PolicyCache()
    cache.preload({p.department_id for p in posts})
    cache.preload_rounds(p.pk for p in posts)
    votes_by_post: dict[int, list[ApprovalVote]] = defaultdict(list)
    for vote in ApprovalVote.objects.filter(post_id__in=[p.pk for p in posts]):
        votes_by_post[vote.post_id].append(vote)
    # Votes count only on the post's current content: its fingerprint reads channels and media, two queries
    # for all the posts with votes rather than two per post.
    prefetch_related_objects(
        [p for p in posts if p.pk in votes_by_post],
        "channels",
        Prefetch("media_items", queryset=PostMedia.objects.select_related("asset").order_by("position", "id")),
    )
    waiting = []
    for post in posts:
        progress = step_states(post, votes=votes_by_post.get(post.pk, []), cache=cache)
        if not approval_refusal(user=user, post=post, progress=progress):
            waiting.append(post)
    return waiting


def approved_round_votes(post: Post) -> list[ApprovalVote]:
    """Returns the votes that completed the post's current approval, oldest first: the round of the
    approver's completing vote, on the approved content. [] when it was approved without votes (an
    emergency post) or is not approved."""
    approval = post.current_approval
    if approval is None:
        return []
    completing = (
        ApprovalVote.objects.filter(post=post, content_hash=approval.content_hash, voter_id=approval.approved_by_id)
        .order_by("-created_at", "-id")
        .first()
    )
    if completing is None:
        return []
    return list(
        ApprovalVote.objects.filter(
            post=post, round_key=completing.round_key, content_hash=approval.content_hash
        ).order_by("created_at", "id")
    )


def last_step_user_may_approve(
    *, user: User, post: Post, kept_votes: Iterable[ApprovalVote], cache: PolicyCache | None = None
) -> int | None:
    """Returns the number of the last step of the post's policy that `user` could approve if the
    `kept_votes` of the steps before it still counted: named by the step, not the post's author, and not
    one of those earlier voters (each step is another person). None when there is no such step."""
    if user.pk == post.author_id:
        return None
    cache = cache or PolicyCache()
    kept_votes = list(kept_votes)
    for step in reversed(cache.policy(post.department_id)):
        earlier_voters = {vote.voter_id for vote in kept_votes if vote.step_number < step.number}
        if user.pk not in earlier_voters and user.pk in cache.sources(step, post.department_id):
            return step.number
    return None
