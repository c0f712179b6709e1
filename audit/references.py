"""The objects an audit event refers to by id (its target, and ids inside `changes` such as a post's
channel_ids), and the names they read as. Pure: audittrail.selectors.audit_names_for_events loads the rows (one
query per model for a whole page), audittrail.presentation writes "Parks Mastodon (@parks) #3" or "#7 (deleted)"."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.text import Truncator
from django.utils.translation import gettext as _

POST = "scheduler.post"
CHANNEL = "scheduler.channel"
BLACKOUT = "scheduler.blackoutperiod"
MEDIA = "medialibrary.mediaasset"
DEPARTMENT = "departments.department"
USER = "auth.user"
CRISIS_HOLD = "governance.crisishold"
EMERGENCY_ALERT = "governance.emergencyalert"
NAMED_MODELS = (POST, CHANNEL, BLACKOUT, MEDIA, DEPARTMENT, USER, CRISIS_HOLD, EMERGENCY_ALERT)

# Models that moved to another app (issue 12) keep the label the trail has always stored for them, so old
# and new events about them read, filter and link the same: {label the trail stores: where the model is now}.
MOVED_MODELS = {
    "governance.crisishold": "scheduler.crisishold",
    "governance.posthold": "scheduler.posthold",
    "governance.approvalvote": "scheduler.approvalvote",
    "governance.approvalstep": "departments.approvalstep",
}
_STORED_LABEL = {current: stored for stored, current in MOVED_MODELS.items()}


def stored_label(model_label: str) -> str:
    """The label the trail stores for a model ("governance.crisishold" for scheduler.CrisisHold)."""
    return _STORED_LABEL.get(model_label, model_label)


def model_label(stored: str) -> str:
    """The label to look a stored label up with (apps.get_model): where the model lives now."""
    return MOVED_MODELS.get(stored, stored)


# Keys of `changes` whose values are ids of one model: an id, a list of ids, {"before": …, "after": …} of
# those, a dict keyed by ids ({"3": "text for channel 3"}), or dicts whose "id" is one ("blackouts").
# A post's `media` names its files by storage path ({"path": …}), which a media asset's file_name is.
KEY_MODELS = {
    "channel_ids": CHANNEL,
    "channels": CHANNEL,
    "channel": CHANNEL,
    "channel_text": CHANNEL,
    "departments": DEPARTMENT,
    "users": USER,
    "voter": USER,
    "posts": POST,
    "held_posts": POST,
    "blackouts": BLACKOUT,
    "media": MEDIA,
    "alert": EMERGENCY_ALERT,
}
# Keys that mean posts only in one action's changes (the end of a crisis hold: what happened to each post).
ACTION_KEY_MODELS = {
    "crisis.off": {"released": POST, "rescheduled": POST, "kept": POST, "reapproved": POST},
}
INHERITING_KEYS = ("before", "after", "id")


@dataclass(frozen=True)
class Ref:
    """One object named in an event: by id, or (a media file in a post's snapshot) by storage path."""

    model: str
    pk: int | None = None
    path: str = ""


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _key_id(key: Any) -> int | None:
    return int(key) if isinstance(key, str) and key.isascii() and key.isdigit() else _id(key)


def map_references(value: Any, replace: Callable[[Ref], Any], *, action: str = "", model: str | None = None) -> Any:
    """Returns `value` (an event's changes, or part of them) with every reference replaced by replace(ref);
    a dict key that is a reference becomes str(replace(ref))."""
    keys = {**KEY_MODELS, **ACTION_KEY_MODELS.get(action, {})}

    def walk(item: Any, model: str | None) -> Any:
        if model is not None and _id(item) is not None:
            return replace(Ref(model, pk=item))
        if isinstance(item, list):
            return [walk(element, model) for element in item]
        if not isinstance(item, dict):
            return item
        mapped = {}
        for key, element in item.items():
            if model is not None and _key_id(key) is not None:
                mapped[str(replace(Ref(model, pk=_key_id(key))))] = walk(element, None)
            elif model == MEDIA and key == "path" and isinstance(element, str) and element:
                mapped[key] = replace(Ref(MEDIA, path=element))
            else:
                mapped[key] = walk(element, model if key in INHERITING_KEYS else keys.get(key))
        return mapped

    return walk(value, model)


def target_ref(target_type: str, target_id: str) -> Ref | None:
    if target_type in NAMED_MODELS and _key_id(target_id) is not None:
        return Ref(target_type, pk=_key_id(target_id))
    return None


def event_references(events: Iterable[Any]) -> set[Ref]:
    """Every object the events refer to: their targets and the ids in their changes."""
    found: set[Ref] = set()

    def keep(ref: Ref) -> Ref:
        found.add(ref)
        return ref

    for event in events:
        target = target_ref(event.target_type, event.target_id)
        if target is not None:
            found.add(target)
        map_references(event.changes, keep, action=event.action)
    return found


# --- Names, from rows the selector loaded ---------------------------------------------------------------


def _quoted(text: str, length: int = 50) -> str:
    return "“" + Truncator(" ".join(text.split())).chars(length) + "”"


def channel_name(channel: Any) -> str:
    """ "Parks Mastodon (@parks@city.social)", like the channel list; the platform when it has no handle."""
    return f"{channel.display_name} ({channel.account_handle or channel.platform_label})"


def user_name(user: Any) -> str:
    full_name = user.get_full_name()
    return f"{full_name} ({user.email})" if full_name and user.email else full_name or user.email or user.username


NAME_OF: dict[str, Callable[[Any], str]] = {
    POST: lambda post: _quoted(post.text),
    CHANNEL: channel_name,
    BLACKOUT: lambda blackout: _quoted(blackout.reason),
    MEDIA: lambda asset: str(asset.original_name or asset.file_name),
    DEPARTMENT: lambda department: str(department.name),
    USER: user_name,
    CRISIS_HOLD: lambda hold: _quoted(hold.reason),
    EMERGENCY_ALERT: lambda alert: _quoted(alert.title),
}


@dataclass(frozen=True)
class AuditNames:
    """What a page of events needs to name the objects it refers to: names by (model, id), media asset ids
    by storage path, and the objects the reader may open (their pages get a link)."""

    names: Mapping[Ref, str] = field(default_factory=dict)
    media_by_path: Mapping[str, int] = field(default_factory=dict)
    openable: frozenset[Ref] = frozenset()
    # Posts that exist but the reader may not see: named by id only, their events' content hidden.
    hidden_posts: frozenset[Ref] = frozenset()
    # The departments whose posts the reader sees in every state (None: every department): decides for the
    # events of a post that is gone.
    post_departments: frozenset[int] | None = None

    def post_content_hidden(self, *, target_type: str, target_id: str, department_id: int | None) -> bool:
        """Whether an event about a post (its target) must not show the post's content to this reader: the
        post exists and they may not see it, or it is gone and they did not see its department's drafts."""
        ref = target_ref(target_type, target_id)
        if ref is None or ref.model != POST or ref in self.openable:
            return False
        if ref in self.hidden_posts:
            return True
        return self.post_departments is not None and department_id not in self.post_departments

    def label(self, ref: Ref) -> str:
        """ "Parks Mastodon (@parks) #3"; "#7 (deleted)" for an object that is gone (or never was); "#12"
        for a post the reader may not see (its text is its name)."""
        if ref in self.hidden_posts:
            return f"#{ref.pk}"
        if ref.pk is None:
            pk = self.media_by_path.get(ref.path)
            if pk is None:
                return _("%(path)s (deleted)") % {"path": ref.path}
            ref = Ref(ref.model, pk=pk)
        name = self.names.get(ref)
        if name is None:
            return _("#%(id)s (deleted)") % {"id": ref.pk}
        return f"{name} #{ref.pk}"


NO_NAMES = AuditNames()
