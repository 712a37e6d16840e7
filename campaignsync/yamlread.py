"""What a YAML file means, decided in one place: YAML 1.2 core values from libyaml's events.

libyaml's C parser (through PyYAML) only splits the text into events; this module alone
turns them into values, so no second parser can read a file differently. (ruamel.yaml
locates nodes for messages and writes files, in `yamldoc`; it never decides a value.)

Meaning is the YAML 1.2 core schema. Plain scalars: null (`~`, `null`, `Null`, `NULL`,
nothing), booleans (`true`, `True`, `TRUE` and the same for false), integers (decimal,
`0o` octal, `0x` hex: `010` is ten), floats (`1.5`, `1e3`, `.inf`, `.nan`); anything else
is text, `yes`, `on`, `1_000` and dates included. The core schema has no timestamps: a
date-time stays text, and the campaign model parses it, exactly, in one place.
Tags `!!str !!int !!float !!bool !!null !!seq !!map` (and `!`) decide a value's type; any
other tag is an error. Aliases share the anchored value; an anchor defined again takes
over from there on. Merge keys (`<<: *base` or `<<: [*a, *b]`, one per mapping) are
supported: earlier sources win over later ones, keys written in the mapping over all.
Duplicate keys, lists or mappings as keys, a `%YAML` version other than 1.2 and a second
document are errors.

Bounds, so that a hostile file costs neither time nor memory: aliases may bring in at most
MAX_ALIASED_VALUES values in all (a file's own values are bounded by its size cap), and
lists and mappings nest at most MAX_DEPTH levels, counted through aliases.

Where libyaml's syntax differs from YAML 1.2, the file is refused at the spot:
- a tab that begins a line, even on a blank or comment line where 1.2 allows one, and a
  tab right after a block `-`, `?` or `:`;
- U+0085, U+2028 and U+2029, which end a line for libyaml (YAML 1.1) but not in 1.2;
- anchor names other than letters, digits, `-` and `_`;
- `?` directly before a key inside `{}` or `[]` (`{?x: 1}`): 1.2 reads the key `?x`,
  libyaml an explicit key `x`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from yaml import MarkedYAMLError, YAMLError
from yaml.cyaml import CParser
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.reader import ReaderError

from campaignsync.yamlcore import (
    BOOL,
    FLOAT,
    INT,
    MAP,
    NOT_TEXT_START,
    NULL,
    SEQ,
    STR,
    Unreadable,
    plain,
    shown,
    tagged,
    unknown_tag,
)

MAX_ALIASED_VALUES = 100_000
MAX_DEPTH = 64


class YamlSyntaxError(Exception):
    """Text that is not one YAML document campaignsync can read; line and column are 1-based."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass(frozen=True)
class Parsed:
    """A document's value, with what reading it showed of every value inside, so that a
    check of each value need not walk a document that cannot fail it."""

    value: Any
    depth: int  # lists and mappings nested, the outermost as 1 (through aliases)
    unusual: bool  # some number is not finite, or some key is not text


def parse_yaml(text: str) -> Any:
    """The document in `text` as plain Python data; YamlSyntaxError if it cannot be read."""
    return read_yaml(text).value


def read_yaml(text: str) -> Parsed:
    """The document in `text` and what its values are like; YamlSyntaxError if it cannot
    be read."""
    _refuse_line_separators(text)
    try:
        parser = CParser(text)
    except UnicodeEncodeError as exc:
        raise _at(
            text, exc.start, "the text holds an unpaired surrogate character; save it as UTF-8"
        ) from None
    try:
        reader = _Reader(parser.get_event, text)
        value = reader.document()
        return Parsed(value, reader.deepest, reader.unusual)
    except MarkedYAMLError as exc:
        raise _syntax_error(text, exc) from None
    except ReaderError as exc:
        index = len(text.encode("utf-8")[: exc.position].decode("utf-8", "ignore"))
        message = (
            f"YAML syntax: the control character U+{exc.character:04X} is not allowed in YAML "
            "text; remove it, or write it as an escape inside double quotes"
        )
        raise _at(text, index, message) from None
    except YAMLError as exc:
        raise YamlSyntaxError(f"YAML syntax: {exc}") from None
    finally:
        parser.dispose()


_OPEN = object()  # an anchored list or mapping still being read
_MERGE = object()  # the `<<` key


class _Reader:
    """Values from one document's events, counting what aliases bring in and how deep."""

    def __init__(self, next_event: Any, text: str) -> None:
        self.next_event, self.text = next_event, text
        # anchor -> (value, values inside it, levels below it); scalars have -1 levels.
        self.anchors: dict[str, Any] = {}
        self.values = 0  # values read so far, aliases expanded
        self.aliased = 0  # of which aliases brought in
        self.first_alias: Any = None
        self.depth = 0  # lists and mappings open around the current event
        self.deepest = 0
        self.unusual = False  # see Parsed

    def document(self) -> Any:
        self.next_event()  # the stream's start
        start = self.next_event()
        if start.__class__ is StreamEndEvent:
            return None
        if start.version is not None and start.version != (1, 2):
            major, minor = start.version
            raise _error(
                start.start_mark,
                f"the file declares %YAML {major}.{minor}, but campaign files are read as "
                "YAML 1.2 (where yes is text, not true); remove the directive or declare 1.2",
            )
        value = self.value(self.next_event())
        self.next_event()  # the document's end
        following = self.next_event()
        if following.__class__ is not StreamEndEvent:
            raise _error(
                following.start_mark,
                "a second document starts here; a campaign file holds one document, "
                "so remove the extra '---'",
            )
        return value

    def value(self, event: Any) -> Any:
        kind = event.__class__
        if kind is ScalarEvent:
            value = self.scalar(event)
            if event.anchor is not None:
                self.anchors[event.anchor] = (value, 0, -1)
            return value
        if kind is AliasEvent:
            return self.alias(event)
        if kind is SequenceStartEvent:
            return self.collection(event, SEQ, self.sequence)
        if kind is MappingStartEvent:
            return self.collection(event, MAP, self.mapping)
        raise _error(event.start_mark, f"YAML syntax: unexpected {kind.__name__}")

    def scalar(self, event: Any) -> Any:
        tag = event.tag
        try:
            if tag is None:
                value = plain(event.value) if event.implicit[0] else event.value
            elif tag == "!" or tag == STR:
                return event.value
            else:
                value = tagged(tag, event.value)
        except Unreadable as exc:
            raise _error(event.start_mark, str(exc)) from None
        if value.__class__ is float and not math.isfinite(value):
            self.unusual = True
        return value

    def collection(self, event: Any, tag: str, read: Any) -> Any:
        if event.tag not in (None, "!", tag):
            known = event.tag in (STR, INT, FLOAT, BOOL, NULL, SEQ, MAP)
            what = "a list" if tag == SEQ else "a mapping"
            message = f"{shown(event.tag)} cannot mark {what}" if known else None
            raise _error(event.start_mark, message or unknown_tag(event.tag))
        depth = self.depth + 1
        if depth > MAX_DEPTH:
            raise _error(event.start_mark, _too_deep())
        anchor, outer_deepest, values_before = event.anchor, self.deepest, self.values
        if anchor is not None:
            self.anchors[anchor] = _OPEN
        self.depth = self.deepest = depth
        value = read(event)
        height = self.deepest - depth
        self.depth, self.deepest = depth - 1, max(outer_deepest, self.deepest)
        if anchor is not None:
            self.anchors[anchor] = (value, self.values - values_before, height)
        return value

    def alias(self, event: Any) -> Any:
        found = self.anchors.get(event.anchor)
        if found is None:
            message = f"the alias *{event.anchor} refers to no anchor &{event.anchor} above it"
            raise _error(event.start_mark, message)
        if found is _OPEN:
            raise _error(
                event.start_mark,
                f"the alias *{event.anchor} refers to the list or mapping it is inside; "
                "a YAML value cannot contain itself",
            )
        if self.first_alias is None:
            self.first_alias = event.start_mark
        value, inside, height = found
        self.values += inside
        self.aliased += inside
        if self.aliased > MAX_ALIASED_VALUES:
            raise _error(
                self.first_alias,
                f"aliases (*name) in this file repeat more than {MAX_ALIASED_VALUES:,} values, "
                "far more than any campaign needs; write the values out, or reuse less",
            )
        if height >= 0:
            if self.depth + 1 + height > MAX_DEPTH:
                raise _error(event.start_mark, _too_deep())
            self.deepest = max(self.deepest, self.depth + 1 + height)
        return value

    # `sequence` and `mapping` read most of a file: an untagged scalar without an anchor
    # whose text cannot be anything but text (quoted, or see NOT_TEXT_START) is taken
    # here, without the calls of `value`; everything else goes through `value`.

    def sequence(self, start: Any) -> list[Any]:
        items: list[Any] = []
        append, next_event, value = items.append, self.next_event, self.value
        event = next_event()
        while event.__class__ is not SequenceEndEvent:
            if event.__class__ is ScalarEvent and event.tag is None and event.anchor is None:
                text = event.value
                may_not_be_text = event.implicit[0] and text[:1] in NOT_TEXT_START
                append(self.scalar(event) if may_not_be_text else text)
            else:
                append(value(event))
            event = next_event()
        self.values += len(items)
        return items

    def mapping(self, start: Any) -> dict[Any, Any]:
        written: dict[Any, Any] = {}
        merged: dict[Any, Any] | None = None
        next_event, value, flow = self.next_event, self.value, start.flow_style
        event = next_event()
        while event.__class__ is not MappingEndEvent:
            if event.__class__ is ScalarEvent and event.tag is None and event.anchor is None:
                key = event.value
                if event.implicit[0] and (flow or key == "<<"):
                    key = self.key(event, flow)
                elif event.implicit[0] and key[:1] in NOT_TEXT_START:
                    key = self.scalar(event)
                    self.unusual = self.unusual or key.__class__ is not str
            else:
                key = self.key(event, flow)
            value_event = next_event()
            if key is _MERGE:
                if merged is not None:
                    raise _error(event.start_mark, "a mapping may hold only one merge key (<<)")
                merged = _merge(value(value_event), value_event)
            elif key in written:
                raise _error(
                    event.start_mark, f"duplicate key {key!r}: each field may appear only once"
                )
            elif (
                value_event.__class__ is ScalarEvent
                and value_event.tag is None
                and value_event.anchor is None
            ):
                text = value_event.value
                may_not_be_text = value_event.implicit[0] and text[:1] in NOT_TEXT_START
                written[key] = self.scalar(value_event) if may_not_be_text else text
            else:
                written[key] = value(value_event)
            event = next_event()
        self.values += 2 * len(written)
        return written if merged is None else merged | written

    def key(self, event: Any, flow: bool) -> Any:
        kind = event.__class__
        if kind is ScalarEvent and event.implicit[0]:
            if event.value == "<<" and event.tag is None:
                return _MERGE
            if flow and self.text[event.start_mark.index - 1 : event.start_mark.index] == "?":
                # YAML 1.2 reads `{?x: 1}` as the key '?x'; libyaml as an explicit key x.
                raise _error(
                    event.start_mark,
                    "YAML syntax: '?' right before a key inside {} or [] is read two ways; "
                    "put the text in quotes, or a space after '?'",
                )
        key = self.value(event)
        if isinstance(key, list | dict):
            what = "a list" if isinstance(key, list) else "a mapping"
            raise _error(
                event.start_mark, f"{what} cannot be a key; keys are field names or other text"
            )
        if key.__class__ is not str:
            self.unusual = True
        return key


def _merge(source: Any, event: Any) -> dict[Any, Any]:
    """The keys a merge brings in: from one mapping, or from a list where earlier wins."""
    sources = source if isinstance(source, list) else [source]
    if not sources or not all(isinstance(item, dict) for item in sources):
        raise _error(
            event.start_mark,
            "a merge key (<<) takes a mapping or a list of mappings, like <<: *defaults",
        )
    merged: dict[Any, Any] = {}
    for item in reversed(sources):
        merged.update(item)
    return merged


def _too_deep() -> str:
    return (
        f"lists and mappings here are nested more than {MAX_DEPTH} levels deep, far more "
        "than any campaign needs; flatten them"
    )


def _error(mark: Any, message: str) -> YamlSyntaxError:
    return YamlSyntaxError(message, mark.line + 1, mark.column + 1)


def _at(text: str, index: int, message: str) -> YamlSyntaxError:
    line_start = text.rfind("\n", 0, index) + 1
    return YamlSyntaxError(message, text.count("\n", 0, index) + 1, index - line_start + 1)


_LINE_SEPARATORS = re.compile("[\x85\u2028\u2029]")


def _refuse_line_separators(text: str) -> None:
    if "\x85" in text or "\u2028" in text or "\u2029" in text:
        found = _LINE_SEPARATORS.search(text)
        assert found is not None
        code = ord(found.group())
        raise _at(
            text,
            found.start(),
            f"the character U+{code:04X} ends a line in YAML 1.1 but not in 1.2, so it could be "
            "read two ways; remove it, or write it as an escape inside double quotes",
        )


def _syntax_error(text: str, exc: MarkedYAMLError) -> YamlSyntaxError:
    mark = exc.problem_mark or exc.context_mark
    problem = (exc.problem or exc.context or "not valid YAML").strip()
    lines = text.split("\n")
    if "maximum nesting depth" in problem:
        message = _too_deep()
    elif (
        mark is not None
        and lines[mark.line : mark.line + 1]
        and (lines[mark.line][mark.column : mark.column + 1] == "\t")
    ):
        message = (
            "YAML syntax: a tab cannot start a line here or follow a block '-', '?' or ':'; "
            "use spaces"
        )
    else:
        message = f"YAML syntax: {problem}"
        context, start = (exc.context or "").strip(), exc.context_mark
        if context and start is not None and mark is not None and start.line != mark.line:
            message += f" {context} at line {start.line + 1}, column {start.column + 1}"
    return YamlSyntaxError(message, *((mark.line + 1, mark.column + 1) if mark else (None, None)))
