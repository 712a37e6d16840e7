"""YAML text in and out. ruamel.yaml is the authority on meaning (YAML 1.2) and position.

The happy path reads with `fastyaml` (libyaml's C parser). Only text it defers, and any
file with a problem, goes through ruamel: the safe loader for meaning and syntax errors,
the round-trip loader for the line and column of a node. ruamel is imported on first use,
so commands that never need it never pay for it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from campaignsync.fastyaml import NeedsFullParser, fast_load

if TYPE_CHECKING:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

Loc = tuple[str | int, ...]


class YamlSyntaxError(Exception):
    """Text that is not one valid YAML document; line and column are 1-based."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


_SAFE: YAML | None = None


def _safe() -> YAML:
    global _SAFE
    if _SAFE is None:
        from ruamel.yaml import YAML

        _SAFE = YAML(typ="safe", pure=True)
    return _SAFE


def parse_yaml(text: str) -> Any:
    """The document in `text` as plain Python data; YamlSyntaxError if it is not YAML."""
    try:
        return fast_load(text)
    except NeedsFullParser:
        pass
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return _safe().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise YamlSyntaxError(_yaml_message(exc), line, column) from exc
    except YAMLError as exc:
        raise YamlSyntaxError(f"not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise YamlSyntaxError("the YAML is nested too deeply to be a campaign") from exc
    except (ValueError, TypeError, OverflowError) as exc:
        # ruamel builds some values with plain Python calls, e.g. a date of 2027-02-31.
        raise YamlSyntaxError(f"a value YAML cannot represent: {exc}") from exc


def locator(text: str) -> Any:
    """A tree that knows where each node is, or None when the text cannot be parsed."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="rt").load(text)
    except (YAMLError, RecursionError, ValueError, TypeError, OverflowError):
        return None


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


def _yaml_message(exc: MarkedYAMLError) -> str:
    problem = (exc.problem or exc.context or "not valid YAML").strip()
    if problem.startswith("found duplicate key"):
        key = problem.split('"')[1] if '"' in problem else "?"
        return f"duplicate key {key!r}: each field may appear only once"
    return f"YAML syntax: {problem}"


def render_campaign_yaml(fields: dict[str, Any], *, comments: Sequence[str]) -> str:
    """A campaign file people can read and edit: comment lines, then the fields in order."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import LiteralScalarString

    data = CommentedMap()
    for name, value in fields.items():
        data[name] = (
            LiteralScalarString(value) if isinstance(value, str) and "\n" in value else value
        )
    writer = YAML(typ="rt")
    writer.indent(mapping=2, sequence=4, offset=2)
    writer.width = 100
    stream = io.StringIO()
    writer.dump(data, stream)
    header = "".join(f"# {line}\n" if line else "#\n" for line in comments)
    return header + "\n" + stream.getvalue()
