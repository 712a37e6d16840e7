"""Differences between the last-applied and the desired fields of one campaign.

Scalars compare by value. The lists `topics`, `questions` and `contacts` compare by the
identity of their items (see `spec.LIST_IDENTITY`), never by position, so that inserting
one topic shows as one addition and not as every later topic changed.

Everything here is plain comparison, no deepdiff: a change is reported per top-level
field and per field of a list item, each with its whole old and new value, and `==` on
those values is exactly that test. A deep diff's paths below an item's field would only
be thrown away, and it could call an item changed in which no field compares unequal.

State keeps contacts only as fingerprints (see `fingerprint`), so the file's contacts are
compared with those under the state's key: a removed contact is then known by its
identity's fingerprint, and a changed field's old value by its fingerprint alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from campaignsync.fingerprint import (
    Fingerprinter,
    contact_count,
    contact_line,
    stands_in,
    stored_contacts,
)
from campaignsync.ontora_models import FROZEN
from campaignsync.spec import FIELD_ORDER, LIST_IDENTITY, contact_identity


class Kind(StrEnum):
    ADD = "add"
    CHANGE = "change"
    REMOVE = "remove"


class ValueChange(BaseModel):
    """One field of a list item: its old and new value (None when absent)."""

    model_config = FROZEN

    field: str
    old: Any = None
    new: Any = None


class ItemChange(BaseModel):
    """One item of a keyed list present on both sides, changed field by field."""

    model_config = FROZEN

    identity: str
    fields: tuple[ValueChange, ...] = ()


class ListDiff(BaseModel):
    """How a keyed list changed, by item identity. The whole new list is in the request
    that sends it, and the old one in state, so neither is copied here.

    With `fingerprinted` (contacts compared with state's fingerprints), `removed` holds
    identity fingerprints and a changed field's `old` its value's fingerprint.
    """

    model_config = FROZEN

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[ItemChange, ...] = ()
    reordered: bool = False
    fingerprinted: bool = False
    removed_unknown: int = Field(
        0,
        ge=0,
        description="Contacts removed that state knows only by their number: those a "
        "request whose answer never came sent, which Ontora may hold. Left out when none.",
        # So that a plan without any holds, and digests, as it did before this existed.
        exclude_if=lambda count: count == 0,
    )

    @property
    def removed_count(self) -> int:
        return len(self.removed) + self.removed_unknown


class FieldChange(BaseModel):
    """One top-level field whose value must change: set, changed, or cleared (removed).

    A scalar carries its old and new value; a keyed list carries `items` instead, so a plan
    grows with what changed, not with the size of its lists.
    """

    model_config = FROZEN

    field: str
    kind: Kind
    old: Any = None
    new: Any = None
    items: ListDiff | None = None


def cleared(value: Any) -> Any:
    """What clears a field on Ontora: `[]` for a list (kept as a list, or as the fingerprints
    of one), `null` for anything else."""
    return [] if isinstance(value, list) or stands_in(value) else None


def diff_fields(
    last_applied: Mapping[str, Any],
    desired: Mapping[str, Any],
    printer: Fingerprinter | None = None,
) -> list[FieldChange]:
    """Three-way field changes: in the file and different -> send; gone from it -> clear.

    A field in neither is not managed and never appears. `printer` fingerprints the
    file's contacts with the state's key, to compare them with what state keeps; it is
    needed only when `last_applied` comes from state.
    """
    changes = []
    for field in sorted(desired.keys() | last_applied.keys(), key=_field_rank):
        if field not in desired:
            old = last_applied[field]
            new = cleared(old)
            if not same_value(old, new, printer):
                changes.append(_change(field, Kind.REMOVE, old, new, printer))
        elif field not in last_applied:
            changes.append(_change(field, Kind.ADD, None, desired[field], printer))
        elif not same_value(last_applied[field], desired[field], printer):
            old, new = last_applied[field], desired[field]
            changes.append(_change(field, Kind.CHANGE, old, new, printer))
    return changes


def diff_applied(
    last_applied: Mapping[str, Any],
    unconfirmed: Mapping[str, Any],
    desired: Mapping[str, Any],
    printer: Fingerprinter,
) -> list[FieldChange]:
    """Field changes from last applied to the file, and every unconfirmed field again:
    Ontora may hold its last-applied value or the one sent, so it is sent whatever the
    file says (its value, or a clearing one if the file dropped it)."""
    known = {k: v for k, v in last_applied.items() if k not in unconfirmed}
    changes = diff_fields(known, desired, printer)
    for field in sorted(unconfirmed.keys() - desired.keys() - {c.field for c in changes}):
        sent = unconfirmed[field]
        old = last_applied.get(field, sent)
        clearing = FieldChange(field=field, kind=Kind.REMOVE, old=old, new=cleared(sent))
        changes += diff_fields({field: old}, {}, printer) or [clearing]  # with list items if it can
    sent = unconfirmed.get("contacts")
    if not (isinstance(sent, Mapping) and "count" in sent):
        return changes
    confirmed, wanted = last_applied.get("contacts"), desired.get("contacts")
    return [
        _with_contacts_sent(change, confirmed, contact_count(sent), wanted, printer)
        if change.field == "contacts" and change.items is not None
        else change
        for change in changes
    ]


def _with_contacts_sent(
    change: FieldChange, confirmed: Any, sent: int, wanted: Any, printer: Fingerprinter
) -> FieldChange:
    """A contacts change where a request whose answer never came sent `sent` contacts,
    which state knows by their number alone. Ontora holds either the contacts state
    confirmed or those sent: the list is compared, by name, with the confirmed ones, and
    a list shorter than the one sent removes at least the difference beyond those."""
    items = change.items
    assert items is not None, "only a list change is counted"
    wanted = wanted if isinstance(wanted, list) else []  # null clears the list too
    if change.kind is Kind.ADD and stands_in(confirmed):  # compared with nothing so far
        items = diff_fingerprinted(confirmed, wanted, printer)
        change = change.model_copy(update={"kind": Kind.CHANGE})
    lost = max(0, sent - len(wanted) - len(items.removed))
    return change.model_copy(update={"items": items.model_copy(update={"removed_unknown": lost})})


def same_value(old: Any, new: Any, printer: Fingerprinter | None) -> bool:
    """Whether a last-applied value (contacts: as fingerprints) is the file's `new` one."""
    if stands_in(old) and isinstance(new, list):
        return _needed(printer).same(old, new)
    return bool(old == new)


def _change(
    field: str, kind: Kind, old: Any, new: Any, printer: Fingerprinter | None
) -> FieldChange:
    if stands_in(old):
        items = diff_fingerprinted(old, new or [], _needed(printer))
        return FieldChange(field=field, kind=kind, items=items)
    if field in LIST_IDENTITY:
        return FieldChange(
            field=field, kind=kind, items=diff_keyed_list(field, old or [], new or [])
        )
    return FieldChange(field=field, kind=kind, old=old, new=new)


def _needed(printer: Fingerprinter | None) -> Fingerprinter:
    if printer is None:
        raise TypeError("fingerprinted contacts are compared under their state's key")
    return printer


def _field_rank(field: str) -> int:
    return FIELD_ORDER.get(field, len(FIELD_ORDER))


def diff_keyed_list(field: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> ListDiff:
    """Items added, removed and changed (field by field) by identity, and whether reordered."""
    identity = LIST_IDENTITY[field]
    # Keyed dict lookups, never pairwise matching: linear in the number of items.
    old_by_id = {identity(item): item for item in old}
    new_by_id = {identity(item): item for item in new}
    kept = [key for key in new_by_id if key in old_by_id]  # in the new order
    return ListDiff(
        added=tuple(key for key in new_by_id if key not in old_by_id),
        removed=tuple(key for key in old_by_id if key not in new_by_id),
        changed=tuple(
            _item_change(key, old_by_id[key], new_by_id[key])
            for key in kept
            if old_by_id[key] != new_by_id[key]
        ),
        reordered=[key for key in old_by_id if key in new_by_id] != kept,
    )


def diff_fingerprinted(
    stored: Mapping[str, Any], new: list[dict[str, Any]], printer: Fingerprinter
) -> ListDiff:
    """Contacts added, removed and changed (field by field) against state's fingerprints.

    Added and changed contacts are named by their identity in the file; removed ones, which
    only state knew, by their identity's fingerprint.
    """
    if "count" in stored:  # a mark's: how many it removes, `diff_applied` counts
        return ListDiff(added=tuple(map(contact_identity, new)), fingerprinted=True)
    old_by_id = stored_contacts(stored)
    fresh = map(contact_line, printer.of_contacts(new)["items"])
    new_by_id = {
        identity: (contact, fields) for contact, (identity, fields) in zip(new, fresh, strict=True)
    }
    kept = [key for key in new_by_id if key in old_by_id]  # in the new order
    changed = []
    for key in kept:
        (contact, new_fields), old_fields = new_by_id[key], old_by_id[key]
        differing = sorted(
            name
            for name in old_fields.keys() | new_fields.keys()
            if old_fields.get(name) != new_fields.get(name)
        )
        if differing:
            values = (
                ValueChange(field=name, old=old_fields.get(name), new=contact.get(name))
                for name in differing
            )
            changed.append(ItemChange(identity=contact_identity(contact), fields=tuple(values)))
    return ListDiff(
        added=tuple(
            contact_identity(new_by_id[key][0]) for key in new_by_id if key not in old_by_id
        ),
        removed=tuple(key for key in old_by_id if key not in new_by_id),
        changed=tuple(changed),
        reordered=[key for key in old_by_id if key in new_by_id] != kept,
        fingerprinted=True,
    )


def _item_change(identity: str, old: object, new: object) -> ItemChange:
    """One item on both sides, with each of its fields whose value differs (all of them if
    one side is not an item at all, as a hand-edited state can make it)."""
    before = old if isinstance(old, dict) else {}
    after = new if isinstance(new, dict) else {}
    differing = sorted(
        name
        for name in before.keys() | after.keys()
        if before.get(name, _ABSENT) != after.get(name, _ABSENT)
    )
    return ItemChange(
        identity=identity,
        fields=tuple(
            ValueChange(field=name, old=before.get(name), new=after.get(name)) for name in differing
        ),
    )


# Tells a field an item leaves out from one it sets to null.
_ABSENT = object()
