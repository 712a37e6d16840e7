"""Differences between the last-applied and the desired fields of one campaign.

Scalars compare by value. The lists `topics`, `questions` and `contacts` compare by the
identity of their items (see `spec.LIST_IDENTITY`), never by position, so that inserting
one topic shows as one addition and not as every later topic changed. deepdiff finds the
differences; the result is carried in campaignsync's own types.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from campaignsync.api_schema import FROZEN
from campaignsync.spec import FIELD_ORDER, LIST_IDENTITY


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
    that sends it, and the old one in state, so neither is copied here."""

    model_config = FROZEN

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[ItemChange, ...] = ()
    reordered: bool = False


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
    """What clears a field on Ontora: `[]` for a list, `null` for anything else."""
    return [] if isinstance(value, list) else None


def diff_fields(last_applied: Mapping[str, Any], desired: Mapping[str, Any]) -> list[FieldChange]:
    """Three-way field changes: in the file and different -> send; gone from it -> clear.

    A field in neither is not managed and never appears.
    """
    changes = []
    for field in sorted(desired.keys() | last_applied.keys(), key=_field_rank):
        if field not in desired:
            old = last_applied[field]
            new = cleared(old)
            if old != new:
                changes.append(_change(field, Kind.REMOVE, old, new))
        elif field not in last_applied:
            changes.append(_change(field, Kind.ADD, None, desired[field]))
        elif desired[field] != last_applied[field]:
            changes.append(_change(field, Kind.CHANGE, last_applied[field], desired[field]))
    return changes


def _change(field: str, kind: Kind, old: Any, new: Any) -> FieldChange:
    if field in LIST_IDENTITY:
        return FieldChange(
            field=field, kind=kind, items=diff_keyed_list(field, old or [], new or [])
        )
    return FieldChange(field=field, kind=kind, old=old, new=new)


def _field_rank(field: str) -> int:
    return FIELD_ORDER.get(field, len(FIELD_ORDER))


def diff_keyed_list(field: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> ListDiff:
    """Items added, removed and changed (field by field) by identity, and whether reordered."""
    identity = LIST_IDENTITY[field]
    old_by_id = {identity(item): item for item in old}
    new_by_id = {identity(item): item for item in new}
    added = [key for key in new_by_id if key not in old_by_id]
    removed = [key for key in old_by_id if key not in new_by_id]
    # Keyed dict lookups, never pairwise matching: linear in the number of items.
    common = [key for key in new_by_id if key in old_by_id]
    differing = [key for key in common if old_by_id[key] != new_by_id[key]]
    changed: dict[str, set[str]] = {}
    # threshold_to_diff_deeper=0: always report field by field, never "whole item replaced".
    tree = (
        _deepdiff()(
            {key: old_by_id[key] for key in differing},
            {key: new_by_id[key] for key in differing},
            view="tree",
            threshold_to_diff_deeper=0,
        )
        if differing
        else {}
    )
    for levels in tree.values():
        for level in levels:
            path = level.path(output_format="list")
            touched = [str(path[0])] if path else differing
            for key in touched:
                if len(path) >= 2:
                    changed.setdefault(key, set()).add(str(path[1]))
                else:
                    # The item as a whole differs (e.g. its type); list every field.
                    fields = _keys(old_by_id.get(key)) | _keys(new_by_id.get(key))
                    changed.setdefault(key, set()).update(fields)

    old_order = [key for key in old_by_id if key in new_by_id]
    return ListDiff(
        added=tuple(added),
        removed=tuple(removed),
        changed=tuple(
            ItemChange(
                identity=key,
                fields=tuple(
                    ValueChange(
                        field=name, old=old_by_id[key].get(name), new=new_by_id[key].get(name)
                    )
                    for name in sorted(changed[key])
                ),
            )
            for key in common
            if key in changed
        ),
        reordered=old_order != common,
    )


def _deepdiff() -> Any:
    # Imported on first use: most plans never compare two versions of one item.
    from deepdiff import DeepDiff

    return DeepDiff


def _keys(item: object) -> set[str]:
    return set(item) if isinstance(item, dict) else set()
