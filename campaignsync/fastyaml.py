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
_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?=[eE]))(?:[eE][-+]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class _Loader(_BaseLoader):  # type: ignore[misc]  # PyYAML ships no type hints
    """PyYAML's C loader with YAML 1.2 resolution and strict, narrow constructors."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        # A duplicate key is an error ruamel reports with its position. Equal key texts
        # under different tags (1 and "1") also land here; ruamel then decides.
        keys = [key.value for key, _ in node.value]
        if len(set(keys)) != len(keys):
            raise NeedsFullParser("duplicate key")
        return super().construct_mapping(node, deep=deep)

    # Plain scalars resolved by first character against ruamel's YAML 1.2 patterns. This
    # replaces PyYAML's general resolver (and its path-resolver bookkeeping on every node,
    # unused here): the same answers, in a fraction of the time.
    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, pattern in _RESOLVERS.get(value[:1], ()):
                    if pattern.match(value):
                        return tag
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


_STR, _SEQ, _MAP = (f"tag:yaml.org,2002:{name}" for name in ("str", "seq", "map"))
_RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _versions, _tag, _pattern, _first in implicit_resolvers:
    if (1, 2) in _versions:
        # ruamel wraps its patterns in a lazy proxy; compile a plain one for the hot loop.
        compiled = re.compile(_pattern.pattern, _pattern.flags)
        for character in _first or [""]:
            _RESOLVERS.setdefault(character or "", []).append((_tag, compiled))


def _int(loader: _Loader, node: Any) -> int:
    value = loader.construct_scalar(node)
    if not _DECIMAL.fullmatch(value):
        raise NeedsFullParser(f"integer form {value!r}")
    return int(value)


def _float(loader: _Loader, node: Any) -> float:
    value = loader.construct_scalar(node)
    if not _FLOAT.fullmatch(value):
        raise NeedsFullParser(f"float form {value!r}")
    return float(value)


def _timestamp(loader: _Loader, node: Any) -> date | datetime:
    value = loader.construct_scalar(node)
    try:
        if _DATE.fullmatch(value):
            return date.fromisoformat(value)
        if "T" not in value and "t" not in value:
            raise ValueError(value)  # space-separated forms: leave them to ruamel
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise NeedsFullParser(f"timestamp form {value!r}") from None
    return moment


def _unknown(loader: _Loader, node: Any) -> Any:
    raise NeedsFullParser(f"tag {node.tag}")


_Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Loader.add_constructor("tag:yaml.org,2002:float", _float)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
for _tag in ("tag:yaml.org,2002:value", "tag:yaml.org,2002:yaml", "tag:yaml.org,2002:binary"):
    _Loader.add_constructor(_tag, _unknown)
_Loader.add_constructor(None, _unknown)


def fast_load(text: str) -> Any:
    """The document in `text`, or NeedsFullParser when only ruamel can say exactly."""
    if "%YAML" in text:
        raise NeedsFullParser("a %YAML directive")
    if "\t" in text:
        # libyaml and ruamel disagree on some tabs; they are rare in YAML, so ask ruamel.
        raise NeedsFullParser("a tab")
    try:
        return yaml.load(text, Loader=_Loader)
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        raise NeedsFullParser(str(exc)) from exc
