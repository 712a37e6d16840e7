"""YAML text in and out: `yamlread` decides what a file means; ruamel here only helps.

ruamel.yaml's round-trip loader locates the line and column of a node for messages about
files that have problems, and its dumper writes campaign files; neither decides a value.
ruamel is imported on first use, so commands that never need it never pay for it.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Sequence
from typing import Any

from campaignsync.yamlcore import is_plain_text
from campaignsync.yamlread import YamlSyntaxError, parse_yaml, read_yaml

__all__ = [
    "YamlSyntaxError",
    "dump_yaml",
    "locator",
    "node_position",
    "parse_yaml",
    "read_yaml",
    "render_campaign_yaml",
]

Loc = tuple[str | int, ...]


def locator(text: str) -> Any:
    """A tree that knows where each node is, or None when the text cannot be parsed."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    reader = YAML(typ="rt")
    reader.Constructor = _positions_only()
    try:
        # ruamel refuses tabs YAML 1.2 allows (`key:\ttext`); a space in each tab's place
        # keeps every line and column where it was.
        return reader.load(text.replace("\t", " "))
    except (YAMLError, RecursionError, ValueError, TypeError, OverflowError):
        return None


@functools.cache
def _positions_only() -> Any:
    """ruamel's round-trip constructor, keeping date-like text as text: a value ruamel
    cannot build (2027-02-31) must not hide the position of a problem."""
    from ruamel.yaml.constructor import RoundTripConstructor

    class PositionsOnly(RoundTripConstructor):
        pass

    PositionsOnly.add_constructor(
        "tag:yaml.org,2002:timestamp", lambda constructor, node: constructor.construct_scalar(node)
    )
    return PositionsOnly


def node_position(root: Any, loc: Loc, *, at_key: bool = False) -> tuple[int | None, int | None]:
    """1-based line and column of the node at `loc` (or of its key), as near as it exists."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    node = root
    line, column = _own_position(root)
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        try:
            if isinstance(node, CommentedMap) and part in node:
                line, column = node.lc.key(part) if last and at_key else node.lc.value(part)
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                line, column = node.lc.item(part)
                node = node[part]
            else:
                break
        except (KeyError, IndexError, TypeError):
            # Keys brought in by a merge (`<<: *base`) carry no position of their own.
            break
    if line is None or column is None:
        return None, None
    return line + 1, column + 1


def _own_position(node: Any) -> tuple[int | None, int | None]:
    lc = getattr(node, "lc", None)
    if lc is None:
        return 0, 0
    return lc.line, lc.col


def render_campaign_yaml(fields: dict[str, Any], *, comments: Sequence[str]) -> str:
    """A campaign file people can read and edit: comment lines, then the fields in order."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import LiteralScalarString

    data = CommentedMap()
    for name, value in fields.items():
        literal = (
            isinstance(value, str)
            and "\n" in value
            and value.replace("\n", "").replace("\t", "").isprintable()
        )
        data[_writable(name)] = LiteralScalarString(value) if literal else _writable(value)
    writer = _writer(flow=False)
    writer.indent(mapping=2, sequence=4, offset=2)
    writer.width = 100
    stream = io.StringIO()
    writer.dump(data, stream)
    header = "".join(f"# {line}\n" if line else "#\n" for line in comments)
    return header + "\n" + stream.getvalue()


def dump_yaml(value: Any, *, flow: bool = False) -> str:
    """YAML text that `parse_yaml` reads back as exactly `value` (plain data, as from JSON)."""
    writer = _writer(flow=flow)
    writer.width = 4096
    stream = io.StringIO()
    writer.dump(_writable(value), stream)
    return stream.getvalue()


def _writer(*, flow: bool) -> Any:
    from ruamel.yaml import YAML

    writer = YAML(typ="rt")
    writer.default_flow_style = flow
    return writer


_LINE_ENDS_1_1 = re.compile("[\x85\u2028\u2029]")


def _writable(value: Any) -> Any:
    """`value` with double quotes on every string that, written plain, would read as
    something else: ruamel decides plainness by its own rules, `parse_yaml` by YAML 1.2
    core (`.5e3` is a number there), libyaml reads `{?x: 1}` as the key x and
    refuses `{:x: 1}`, and
    U+0085/U+2028/U+2029 must be escaped."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(value, str):
        if value in ("<<", "") or value[0] in "?:-" or not is_plain_text(value):
            return DoubleQuotedScalarString(value)
        if _LINE_ENDS_1_1.search(value):
            return DoubleQuotedScalarString(value)
        return value
    if isinstance(value, list):
        return [_writable(item) for item in value]
    if isinstance(value, dict):
        return {_writable(key): _writable(item) for key, item in value.items()}
    return value
