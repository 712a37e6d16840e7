"""Keyed fingerprints of contacts: what state keeps instead of names, emails and phones.

A fingerprint is HMAC-SHA256 under the state's own random key (`new_key`, made once per
lineage). State keeps, per contact list, one fingerprint of the whole list (so an
unchanged list is recognised with one hash; 128 bits) and, per contact, one of its
identity (`spec.contact_identity`) and one of each field (64 bits each: they are most
of a state's size, and a change goes unseen with a chance of 2**-64). Planning fingerprints the
file's contacts with the same key and compares: that says which contacts were added,
removed or changed and which of their fields, without any contact's value in state.

Each contact is kept as one line of text, its identity's fingerprint and then each
field's, named: `989daa224e3754e1 name:b67f72b6a6a01fa4 email:13ad231d37984fdd`. A
state of thousands of contacts then reads, writes and diffs in git a line per contact,
instead of an object of objects per contact, which took nine lines and most of the time
spent reading and writing state. A list apply has sent, not knowing yet whether Ontora
took it, is marked by its size alone (`{"count": 200}`): which fields to send again is
all the next plan needs of a mark, and a mark is on the path of the first request.

The key is in the state, so whoever holds the state can still test a guess ("is
dana@example.org in it?"). What the key does stop: tables of fingerprints computed once
for every state, and telling whether two states (two lineages) hold the same person.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring
from typing import Any

from campaignsync.errors import StateError
from campaignsync.spec import contact_identity
from campaignsync.textfile import MAX_FILE_BYTES

KEY_BYTES = 32
_LIST_BYTES = 16
_ITEM_BYTES = 8
_BLOCK = 64  # SHA-256's block size, in bytes


def new_key() -> str:
    """A fresh random fingerprint key, as hex."""
    return secrets.token_hex(KEY_BYTES)


def contacts_problem(value: object, *, marked: bool = False) -> str | None:
    """What is wrong with a contacts value read from state: it must be fingerprints, or
    (from an older state, fingerprinted as it is read) a list of contacts, or null; and,
    where it is `marked` (unconfirmed), also a mark's count."""
    if value is None:
        return None
    if isinstance(value, list):
        if all(isinstance(contact, dict) for contact in value):
            return None
        return "contacts must be a list of objects"
    if isinstance(value, dict) and value.keys() == _COUNT_KEYS:
        return _count_problem(value["count"], marked=marked)
    return _fingerprints_problem(value)


def _count_problem(count: object, *, marked: bool) -> str | None:
    if not marked:
        return "a count of contacts stands only for a list sent whose answer never came"
    if type(count) is not int or not 0 <= count <= MOST_CONTACTS:
        return f"a count of contacts must be a whole number from 0 to {MOST_CONTACTS:,}"
    return None


def _fingerprints_problem(value: object) -> str | None:
    # Plain checks, not a model: a large state holds hundreds of thousands of lines.
    neither = "contacts are neither contacts nor the fingerprints campaignsync keeps of them"
    if not (isinstance(value, dict) and value.keys() == _LIST_KEYS):
        return neither
    items = value["items"]
    if not (isinstance(value["fingerprint"], str) and isinstance(items, list)):
        return neither
    if not _HEX.fullmatch(value["fingerprint"]):
        return "the contact list's fingerprint is not lower-case hex"
    # By exact type, and one pattern per line: no Python call per line where all is well.
    if _TEXT.issuperset(map(type, items)) and all(map(_ITEM_LINE.fullmatch, items)):
        return None
    bad = next(
        (
            number
            for number, line in enumerate(items, start=1)
            if not (isinstance(line, str) and _ITEM_LINE.fullmatch(line))
        ),
        None,  # text of a type of its own, as another JSON decoder might hand it over
    )
    if bad is None:
        return None
    return (
        f"contact {bad} of the list is not an identity's fingerprint followed by "
        "name:fingerprint pairs, in lower-case hex"
    )


_LIST_KEYS = frozenset({"fingerprint", "items"})
_COUNT_KEYS = frozenset({"count"})
_TEXT = frozenset({str})
_HEX = re.compile(r"[0-9a-f]+")
_FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# A contact's line: its identity's fingerprint, then each field's as name:fingerprint.
_ITEM_LINE = re.compile(r"[0-9a-f]+(?: [a-z_][a-z0-9_]*:[0-9a-f]+)*")
# More than any campaign can declare: each contact takes a byte of its file or its CSV.
MOST_CONTACTS = 2 * MAX_FILE_BYTES


def stands_in(value: object) -> bool:
    """Whether a stored contacts value stands in for the contacts (their fingerprints, or
    a mark's count) rather than being contacts themselves."""
    return isinstance(value, Mapping) and ("fingerprint" in value or "count" in value)


def marked_contacts(contacts: Sequence[object]) -> dict[str, int]:
    """What a mark keeps of a contact list sent: its size."""
    return {"count": len(contacts)}


def stored_contacts(value: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Each contact of stored fingerprints, by its identity's fingerprint: its fields'
    fingerprints by name. Empty for a mark's count. StateError if a contact is there
    twice, as only a hand-edited state can hold it."""
    contacts = dict(map(contact_line, value.get("items", ())))
    if len(contacts) != len(value.get("items", ())):
        raise StateError(f"The state holds a contact twice in one list. {_HAND_EDITED}")
    return contacts


def contact_line(line: str) -> tuple[str, dict[str, str]]:
    """A stored contact's identity fingerprint, and its fields' fingerprints by name.
    StateError if it names a field twice, as only a hand-edited state can hold it."""
    identity, *pairs = line.split(" ")
    fields = dict(pair.split(":", 1) for pair in pairs)
    if len(fields) != len(pairs):
        raise StateError(f"The state holds a contact with a field twice. {_HAND_EDITED}")
    return identity, fields


_HAND_EDITED = (
    "It was edited by hand: restore the state file from git or from its .backup copy, or "
    "remove that campaign's entry with `campaignsync state rm KEY` and adopt it again."
)


def contact_count(value: Mapping[str, Any]) -> int:
    """How many contacts a stored stand-in stands for."""
    count = value.get("count")
    return count if isinstance(count, int) else len(value.get("items", ()))


def from_format_2(value: object) -> object:
    """A contacts value as state format 2 kept it, in today's form: each contact was an
    object `{"identity": ..., "fields": {name: ...}}`, now its line. What is not such a
    value, or such a contact, is left as it is, for the checks to judge (and name)."""
    if not (isinstance(value, dict) and value.keys() == _LIST_KEYS):
        return value
    items = value["items"]
    if not isinstance(items, list):
        return value
    return {"fingerprint": value["fingerprint"], "items": [_item_line(item) for item in items]}


def _item_line(item: object) -> object:
    """A format 2 contact as its line, if every part of it goes into one as it is."""
    if not (isinstance(item, dict) and item.keys() == _ITEM_KEYS_2):
        return item
    identity, fields = item["identity"], item["fields"]
    if not (isinstance(identity, str) and _HEX.fullmatch(identity) and isinstance(fields, dict)):
        return item
    if not all(_is_field_print(name, mac) for name, mac in fields.items()):
        return item
    return _line(identity, fields)


_ITEM_KEYS_2 = frozenset({"identity", "fields"})


def _is_field_print(name: object, mac: object) -> bool:
    """Whether a format 2 field's name and fingerprint go into a line as they are: checked
    before joining, so that no value can pass for more of the line than it is."""
    if not (isinstance(name, str) and isinstance(mac, str)):
        return False
    return bool(_FIELD_NAME.fullmatch(name) and _HEX.fullmatch(mac))


def _line(identity: str, fields: Mapping[str, str]) -> str:
    return " ".join([identity, *(f"{name}:{mac}" for name, mac in fields.items())])


def printer_for(key: str) -> Fingerprinter:
    """The fingerprinter of a state's key: one per key, so that what it has fingerprinted
    is reused by every copy of the state (an apply fingerprints each list it sends once)."""
    printer = _PRINTERS.get(key)
    if printer is None:
        printer = _PRINTERS.setdefault(key, Fingerprinter(key))
    return printer


class Fingerprinter:
    """Fingerprints under one state's key."""

    def __init__(self, key: str) -> None:
        # HMAC-SHA256 with the key's inner and outer hash states made once: the same
        # fingerprints as hmac.digest, in a third of its time (it sets the key up per call).
        secret = bytes.fromhex(key)
        if len(secret) > _BLOCK:
            secret = hashlib.sha256(secret).digest()
        secret = secret.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in secret))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in secret))
        # Lists fingerprinted, by their own fingerprint: a planned list is fingerprinted
        # again when its request is marked and when it is recorded.
        self._known: dict[str, dict[str, Any]] = {}
        # Field fingerprints, by what they hash: many contacts share a department, a job
        # title or a seniority level, and each is hashed once (half the hashes of a list).
        self._fields: dict[str, str] = {}

    def _mac(self, label: str, text: str, size: int = _ITEM_BYTES) -> str:
        return self._mac_of(f"{label}\0{text}", size)

    def _mac_of(self, message: str, size: int = _ITEM_BYTES) -> str:
        inner, outer = self._inner.copy(), self._outer.copy()
        inner.update(message.encode())
        outer.update(inner.digest())
        return outer.digest()[:size].hex()

    def _field(self, name: str, value: object) -> str:
        message = f"{name}\0{_value_text(value)}"
        mac = self._fields.get(message)
        if mac is None:
            if len(self._fields) >= _KNOWN_FIELDS:
                self._fields.clear()
            mac = self._fields[message] = self._mac_of(message)
        return mac

    def of_list(self, contacts: Sequence[Mapping[str, Any]]) -> str:
        """One fingerprint of the whole list, in its order."""
        return self._mac("contacts", _canonical(contacts), _LIST_BYTES)

    def identity(self, contact: Mapping[str, Any]) -> str:
        return self._mac("identity", contact_identity(contact))

    def fields(self, contact: Mapping[str, Any]) -> dict[str, str]:
        """Each field the contact sets, by name; the name is hashed in, so equal values of
        two different fields do not show as equal."""
        return {name: self._field(name, value) for name, value in contact.items()}

    def _line(self, contact: Mapping[str, Any]) -> str:
        """A contact as state keeps it: `_line(identity, fields)`, made in one pass."""
        parts = [self.identity(contact)]
        parts += [f"{name}:{self._field(name, value)}" for name, value in contact.items()]
        return " ".join(parts)

    def of_contacts(self, contacts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """What state keeps of a contact list: JSON, ready for `last_applied`. Treat it as
        read-only: the same value is handed out for the same list."""
        whole = self.of_list(contacts)
        known = self._known.get(whole)
        if known is None:
            known = {
                "fingerprint": whole,
                "items": [self._line(contact) for contact in contacts],
            }
            if len(self._known) >= _KNOWN_LISTS:
                self._known.pop(next(iter(self._known)))  # the oldest
            self._known[whole] = known
        return known

    def same(self, stored: Mapping[str, Any], contacts: Sequence[Mapping[str, Any]]) -> bool:
        """Whether `contacts` are exactly the list `stored` fingerprints."""
        return bool(stored.get("fingerprint") == self.of_list(contacts))


def fingerprinted_fields(fields: Mapping[str, Any], printer: Fingerprinter) -> dict[str, Any]:
    """`fields` with a contact list replaced by its fingerprints; as they are without one."""
    contacts = fields.get("contacts")
    if not isinstance(contacts, list):
        return dict(fields)
    return dict(fields) | {"contacts": printer.of_contacts(contacts)}


_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _value_text(value: object) -> str:
    """`_canonical(value)`, the JSON of a field's value, without the encoder's set-up for
    the two kinds nearly every contact field is: text and whole numbers."""
    if isinstance(value, str):
        return encode_basestring(value)  # as JSONEncoder encodes text, without ASCII escapes
    if isinstance(value, int) and not isinstance(value, bool):
        return int.__repr__(value)  # as JSONEncoder encodes an int, or a subclass of one
    return _canonical(value)


_KNOWN_LISTS = 4096
_KNOWN_FIELDS = 65536
_PRINTERS: dict[str, Fingerprinter] = {}
