"""A fast path for reading campaign files: libyaml's C parser, with YAML 1.2 meaning.

ruamel.yaml is the authority on what a campaign file means (YAML 1.2) and on where a
problem is. Parsing a thousand files with it costs seconds that libyaml's C parser (via
PyYAML) does not, but PyYAML speaks YAML 1.1, where `yes` is a boolean and `010` is
eight. So this loader resolves plain scalars with ruamel's own YAML 1.2 patterns, builds
only the common, unambiguous forms itself, and raises NeedsFullParser for everything
else: duplicate keys, `1_000`, octal and hex, `.inf`, unusual timestamps, unknown tags,
a `%YAML` directive, tabs, and any syntax error. The caller then parses with ruamel.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import yaml
from ruamel.yaml.resolver import implicit_resolvers

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader


class NeedsFullParser(Exception):
    """This text needs ruamel's full YAML 1.2 parser (or holds an error it will locate)."""


_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT_FORM = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?=[eE]))(?:[eE][-+]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class _Loader(_BaseLoader):  # type: ignore[misc]  # PyYAML ships no type hints
    """libyaml's C parser and composer, resolving plain scalars the YAML 1.2 way."""

    # Plain scalars resolved by first character against ruamel's YAML 1.2 patterns. This
    # replaces PyYAML's general resolver (and its path-resolver bookkeeping on every node,
    # unused here): the same answers, in a fraction of the time.
    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is _ScalarNode:
            if implicit[0]:
                for tag, pattern in _RESOLVERS.get(value[:1], ()):
                    if pattern.match(value):
                        return tag
            return _STR
        return _SEQ if kind is _SequenceNode else _MAP

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


_ScalarNode, _SequenceNode = yaml.ScalarNode, yaml.SequenceNode
_STR, _SEQ, _MAP, _MERGE, _INT, _NULL, _BOOL, _FLOAT, _TIMESTAMP = (
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "seq", "map", "merge", "int", "null", "bool", "float", "timestamp")
)
_RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _versions, _tag, _pattern, _first in implicit_resolvers:
    if (1, 2) in _versions:
        # ruamel wraps its patterns in a lazy proxy; compile a plain one for the hot loop.
        compiled = re.compile(_pattern.pattern, _pattern.flags)
        for character in _first or [""]:
            _RESOLVERS.setdefault(character or "", []).append((_tag, compiled))


def fast_load(text: str) -> Any:
    """The document in `text`, or NeedsFullParser when only ruamel can say exactly."""
    if "%YAML" in text:
        raise NeedsFullParser("a %YAML directive")
    if "\t" in text:
        # libyaml and ruamel disagree on some tabs; they are rare in YAML, so ask ruamel.
        raise NeedsFullParser("a tab")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _value(node, {})
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        raise NeedsFullParser(str(exc)) from exc
    finally:
        loader.dispose()


# Python values are built from libyaml's nodes here rather than by PyYAML's constructor,
# whose general machinery (state generators, deep construction, per-node bookkeeping)
# cost more than parsing itself. Only the forms below are built; anything else defers.

_BUILDING = object()


def _value(node: Any, built: dict[int, Any]) -> Any:
    if node.__class__ is _ScalarNode:
        return node.value if node.tag == _STR else _scalar(node.tag, node.value)
    # An alias is the same node object again: build it once, as PyYAML would, so that a
    # document of nested aliases cannot expand exponentially.
    seen = built.get(id(node))
    if seen is _BUILDING:
        raise NeedsFullParser("a recursive alias")
    if seen is not None:
        return seen
    built[id(node)] = _BUILDING
    if node.tag == _SEQ and node.__class__ is _SequenceNode:
        value: Any = [_value(item, built) for item in node.value]
    elif node.tag == _MAP and node.__class__ is not _SequenceNode:
        value = _mapping(node.value, built)
    else:
        raise NeedsFullParser(f"tag {node.tag}")
    built[id(node)] = value
    return value


def _mapping(pairs: list[tuple[Any, Any]], built: dict[int, Any]) -> dict[Any, Any]:
    merged: dict[Any, Any] = {}
    explicit: dict[Any, Any] = {}
    merges = 0
    for key_node, value_node in pairs:
        if key_node.tag == _MERGE:
            merges += 1
            if merges > 1:
                raise NeedsFullParser("more than one merge key")
            # `<<: *a` or `<<: [*a, *b]`: earlier sources win, explicit keys win over all.
            source = _value(value_node, built)
            sources = source if isinstance(source, list) else [source]
            if not all(isinstance(item, dict) for item in sources):
                raise NeedsFullParser("a merge of something other than mappings")
            for item in reversed(sources):
                merged.update(item)
            continue
        explicit[_value(key_node, built)] = _value(value_node, built)
    if len(explicit) != len(pairs) - merges:
        # A duplicate key: an error ruamel reports with its position.
        raise NeedsFullParser("duplicate key")
    return merged | explicit if merged else explicit


def _scalar(tag: str, value: str) -> Any:
    if tag == _INT:
        if not _DECIMAL.fullmatch(value):
            raise NeedsFullParser(f"integer form {value!r}")
        return int(value)
    if tag == _NULL:
        return None
    if tag == _BOOL:
        if value.lower() not in ("true", "false"):  # an explicit !!bool on another word
            raise NeedsFullParser(f"boolean form {value!r}")
        return value.lower() == "true"
    if tag == _FLOAT:
        if not _FLOAT_FORM.fullmatch(value):
            raise NeedsFullParser(f"float form {value!r}")
        return float(value)
    if tag == _TIMESTAMP:
        return _timestamp(value)
    raise NeedsFullParser(f"tag {tag}")


def _timestamp(value: str) -> date | datetime:
    try:
        if _DATE.fullmatch(value):
            return date.fromisoformat(value)
        if "T" not in value and "t" not in value:
            raise ValueError(value)  # space-separated forms: leave them to ruamel
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise NeedsFullParser(f"timestamp form {value!r}") from None
    return moment
