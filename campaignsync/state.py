"""The state document: what campaignsync last applied, its format versions and encoding.

Where the document is kept is not decided here: `filestate` keeps it in a file, and
`pgstate` in PostgreSQL. Both read it through `parse_document` and write it with
`StateEncoder`, so a document means the same wherever it lives.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from campaignsync import __version__
from campaignsync.errors import StateError
from campaignsync.fingerprint import (
    Fingerprinter,
    contacts_problem,
    fingerprinted_fields,
    from_format_2,
    new_key,
    printer_for,
)
from campaignsync.jsontext import MAX_DEPTH, check_values
from campaignsync.ontora_models import FROZEN, Uuid
from campaignsync.scrub import untrusted
from campaignsync.spec import check_key, published_schema

# 3: each contact's fingerprints kept as one line (see `fingerprint`). 2 kept them as an
# object per contact, and 1 kept contacts in full; both are migrated on reading.
FORMAT_VERSION = 3
# A state file is only ever read whole into memory; this bounds that (about a million
# campaigns), so that a path to something endless is refused rather than read.
MAX_STATE_BYTES = 1024 * 1024 * 1024


class PendingCreate(BaseModel):
    """Written before a create request is sent, so that a retry re-sends that exact body
    with that Idempotency-Key, and Ontora answers with the campaign it may have made."""

    model_config = FROZEN

    idempotency_key: str = Field(description="Idempotency-Key sent with POST /v1/interviews.")
    body: dict[str, Any] | None = Field(
        None,
        description="The exact body sent with that key; null only in states written before "
        "campaignsync recorded it.",
    )
    started_at: str = Field(description="When the create was first attempted (UTC).")


class Entry(BaseModel):
    """What campaignsync knows of one campaign, under its key."""

    model_config = FROZEN

    # A UUID, checked on reading: it is put into request paths.
    interview_id: Uuid | None = Field(
        None, description="Ontora's id of the campaign; null while a create is pending."
    )
    last_applied: dict[str, Any] = Field(
        default_factory=dict,
        description="The managed fields as last applied, normalised; contacts only as "
        "keyed fingerprints: of the list, and a line per contact holding its identity's "
        "and each field's.",
    )
    source_digest: str | None = Field(
        None,
        description="Digest of the campaign file (and its CSV) whose every request was "
        "applied; null after a request that left the campaign part-way.",
    )
    contacts_file: str | None = Field(
        None, description="That file's contacts_file, to find the CSV; set with the digest."
    )
    applied_at: str | None = Field(None, description="When the campaign was last applied (UTC).")
    unconfirmed: dict[str, Any] = Field(
        default_factory=dict,
        description="Fields sent by a request whose answer never came (a lost connection, "
        "or a 5xx after every retry), with the values sent (a contact list by its size "
        "alone): Ontora may hold either these or the last-applied ones, so the next plan "
        "sends each of them again.",
    )
    pending_create: PendingCreate | None = Field(
        None, description="Set while a create may have been sent but is not yet recorded."
    )

    @model_validator(mode="before")
    @classmethod
    def _proof_stands_only_for_a_whole_apply(cls, data: Any) -> Any:
        # The proof that a file was fully applied stands only beside an id and no
        # unanswered request, as campaignsync writes it. A file trusted on any other
        # proof would be planned from last_applied, which keeps no contacts to send.
        whole = isinstance(data, dict) and data.get("interview_id") and not data.get("unconfirmed")
        if isinstance(data, dict) and data.get("source_digest") and not whole:
            return data | {"source_digest": None, "contacts_file": None}
        return data

    @field_validator("last_applied", "unconfirmed")
    @classmethod
    def _contacts_are_sound(cls, fields: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if "contacts" not in fields:
            return fields
        # Only a mark (unconfirmed) may keep a contact list by its count.
        problem = contacts_problem(fields["contacts"], marked=info.field_name == "unconfirmed")
        if problem:
            raise ValueError(problem)
        return fields


# PostgreSQL's bigint: a state that reaches it is written no more (`next_serial`).
MAX_SERIAL = 2**63 - 1


def next_serial(state: State) -> int:
    """The serial the next write of `state` takes; a StateError, before anything is
    written, if that is past MAX_SERIAL (only a state edited by hand comes near it)."""
    if state.serial >= MAX_SERIAL:
        raise StateError(
            f"The state's serial is {state.serial}, the largest a state can keep, so it cannot "
            "be written again; nothing was written. Only an edit by hand takes it there: set "
            "it lower where the state is kept (the file, or the row in PostgreSQL)."
        )
    return state.serial + 1


class State(BaseModel):
    """The whole state file."""

    model_config = FROZEN

    format_version: int = Field(FORMAT_VERSION, description="Version of this file's layout.")
    lineage: str | None = Field(
        None, description="UUID fixed when the state is created; null before the first write."
    )
    serial: int = Field(0, ge=0, le=MAX_SERIAL, description="Incremented on every write.")
    tool_version: str = Field(__version__, description="campaignsync version that wrote it.")
    api_url: str | None = Field(None, description="Ontora API the campaigns live in.")
    workspace_id: str | None = Field(None, description="Ontora workspace of the campaigns.")
    fingerprint_key: str = Field(
        default_factory=new_key,
        pattern=r"^[0-9a-f]{64}$",
        description="Random key (hex) of the keyed hashes that stand for contacts; made "
        "with the state and kept for its lineage.",
    )
    campaigns: dict[str, Entry] = Field(
        default_factory=dict, description="Per campaign key, what was last applied."
    )

    @field_validator("campaigns")
    @classmethod
    def _keys_and_ids_are_sound(
        cls, campaigns: dict[str, Entry], info: ValidationInfo
    ) -> dict[str, Entry]:
        # Keys become paths and lines of output, and ids go into request paths: a state
        # edited by hand must not smuggle in what a campaign file could not.
        owners: dict[str, str] = {}
        for key, entry in campaigns.items():
            problem = check_key(key)
            if problem:
                raise ValueError(f"the key {key!r} is not a campaign key: {problem}")
            if entry.interview_id is None:
                continue
            if entry.interview_id in owners:
                raise ValueError(
                    f"{owners[entry.interview_id]!r} and {key!r} both claim campaign "
                    f"{entry.interview_id}; one campaign has one key"
                )
            owners[entry.interview_id] = key
        secret = info.data.get("fingerprint_key")
        if not isinstance(secret, str):
            return campaigns  # the key itself is wrong, and reported
        printer = printer_for(secret)
        return {name: _fingerprinted(campaigns[name], printer) for name in sorted(campaigns)}

    @property
    def printer(self) -> Fingerprinter:
        """Fingerprints under this state's key, to compare contacts with what it keeps."""
        return printer_for(self.fingerprint_key)

    def with_entry(self, key: str, entry: Entry | None) -> State:
        """A copy with `key` set to `entry`, or forgotten when `entry` is None; campaigns
        stay in key order (a new key is sorted in)."""
        campaigns = dict(self.campaigns)
        if entry is None:
            campaigns.pop(key, None)
        else:
            new = key not in campaigns
            campaigns[key] = _fingerprinted(entry, self.printer)
            if new:
                campaigns = dict(sorted(campaigns.items()))
        return self.model_copy(update={"campaigns": campaigns})


def _fingerprinted(entry: Entry, printer: Fingerprinter) -> Entry:
    """`entry` with any contact list it holds replaced by its fingerprints."""
    lists = [
        fields["contacts"]
        for fields in (entry.last_applied, entry.unconfirmed)
        if isinstance(fields.get("contacts"), list)
    ]
    if not lists:
        return entry
    return entry.model_copy(
        update={
            "last_applied": fingerprinted_fields(entry.last_applied, printer),
            "unconfirmed": fingerprinted_fields(entry.unconfirmed, printer),
        }
    )


def now() -> str:
    """The current UTC time as state and lock holders record it."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_document(data: object, *, where: str, untouched: str = "") -> State:
    """The state in a decoded JSON document, or StateError naming `where` it came from.

    `untouched` ends each message: what the reader may do about it.
    """
    tail = f" {untouched}" if untouched else ""
    if not isinstance(data, dict):
        raise StateError(f"{where} is not a campaignsync state.{tail}")
    version = data.get("format_version")
    if type(version) is not int:  # nor true, which Python counts as 1, nor 3.0
        version = untrusted(repr(version))[:40]
    if version == 1:
        # Only contacts changed: the validator fingerprints them under a new key, and the
        # next write stores them as fingerprints alone.
        data, version = data | {"format_version": FORMAT_VERSION}, FORMAT_VERSION
    elif version == 2:
        data, version = _from_format_2(data), FORMAT_VERSION
    if version != FORMAT_VERSION:
        writer = data.get("tool_version")
        by = (
            f" (written by campaignsync {untrusted(writer)[:40]})"
            if isinstance(writer, str)
            else ""
        )
        raise StateError(
            f"{where} has format_version {version}{by}; this campaignsync ({__version__}) "
            f"reads version {FORMAT_VERSION}. Use the campaignsync version that wrote it.{tail}"
        )
    try:
        return State.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise StateError(f"{where} is damaged ({location}: {first['msg']}).{tail}") from exc


def _from_format_2(data: dict[str, Any]) -> dict[str, Any]:
    """A format 2 document in today's form: only the way each contact's fingerprints are
    kept changed. What is not as format 2 wrote it is left for validation to report."""
    campaigns = data.get("campaigns")
    if isinstance(campaigns, dict):
        campaigns = {key: _entry_from_format_2(entry) for key, entry in campaigns.items()}
    return data | {"format_version": FORMAT_VERSION, "campaigns": campaigns}


def _entry_from_format_2(entry: object) -> object:
    if not isinstance(entry, dict):
        return entry
    upgraded = {}
    for name in ("last_applied", "unconfirmed"):
        fields = entry.get(name)
        if isinstance(fields, dict) and "contacts" in fields:
            upgraded[name] = fields | {"contacts": from_format_2(fields["contacts"])}
    return entry | upgraded


# State keeps a value sent five levels down (campaigns, entry, pending create, body).
_SENT_DEPTH = MAX_DEPTH - 5


def check_keepable(sent: dict[str, Any]) -> None:
    """ValueError naming the field if state could not read back a value sent: nested
    deeper than it reads, or a number that is not finite. Contacts are not kept as sent
    (state holds their fingerprints, a mark their number)."""
    for name, value in sent.items():
        if name != "contacts":
            try:
                check_values(value, most=_SENT_DEPTH)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None


def state_document(state: State, encoder: StateEncoder | None = None) -> str:
    """The state as the state file holds it (`state pull` prints the same JSON)."""
    return b"".join((encoder or StateEncoder()).encode(state)).decode()


def check_belongs(
    state: State, *, where: str, api_url: str, workspace_id: str | None, other_state: str
) -> None:
    """Refuse a state written for another API or workspace than the configured one.

    `other_state` says how to choose another state, with `{}` for "API" or "workspace".
    """
    if state.api_url is not None and state.api_url != api_url:
        raise StateError(
            f"{where} was written for the API at {state.api_url}, but the configured API is "
            f"{api_url}. To use it, {other_state.format('API')}, or set --api-url / "
            "ONTORA_API_URL to match it."
        )
    if workspace_id and state.workspace_id and state.workspace_id != workspace_id:
        raise StateError(
            f"{where} belongs to workspace {state.workspace_id}, but the configured workspace "
            f"is {workspace_id}. To use it, {other_state.format('workspace')}, or fix "
            "--workspace-id / ONTORA_WORKSPACE_ID."
        )


_BETWEEN_ENTRIES = b",\n"


class StateEncoder:
    """State as indented JSON, each entry encoded once and reused while it is unchanged.

    An apply writes state after every request; with a thousand campaigns of two hundred
    contacts each, re-encoding every entry each time would cost seconds per request. The
    result is a list of byte chunks written as they are, never joined into one string.
    """

    def __init__(self) -> None:
        self._fragments: dict[str, tuple[Entry, bytes]] = {}

    def encode(self, state: State) -> list[bytes]:
        head = state.model_dump(mode="json", exclude={"campaigns"})
        opening = json.dumps(head, indent=2, ensure_ascii=False)[:-2]  # drop "\n}"
        fragments = [self._fragment(key, entry) for key, entry in state.campaigns.items()]
        self._fragments = {key: self._fragments[key] for key in state.campaigns}
        if not fragments:
            return [f'{opening},\n  "campaigns": {{}}\n}}\n'.encode()]
        chunks = [f'{opening},\n  "campaigns": {{\n'.encode()]
        for fragment in fragments:
            chunks += (fragment, _BETWEEN_ENTRIES)  # never `sep + fragment`: that copies
        chunks[-1] = b"\n  }\n}\n"
        return chunks

    def _fragment(self, key: str, entry: Entry) -> bytes:
        cached = self._fragments.get(key)
        if cached is not None and cached[0] is entry:
            return cached[1]
        body = entry.model_dump_json(indent=2).replace("\n", "\n    ")
        fragment = f"    {json.dumps(key, ensure_ascii=False)}: {body}".encode()
        self._fragments[key] = (entry, fragment)
        return fragment


def state_json_schema() -> dict[str, Any]:
    """The JSON Schema of the state document, as `state pull` prints it."""
    return published_schema("state", State.model_json_schema(), title="campaignsync state")
