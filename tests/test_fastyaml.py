"""The fast loader never disagrees with ruamel: it answers the same or defers to it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from campaignsync.fastyaml import NeedsFullParser, fast_load
from tests.test_loader_fuzz import EXAMPLE_TEXTS, mutated_examples

RUAMEL = YAML(typ="safe", pure=True)


def agree(text: str) -> None:
    """The fast path defers, or answers exactly what ruamel answers; never accepts what
    ruamel rejects."""
    try:
        expected = RUAMEL.load(text)
    except Exception:
        with pytest.raises(NeedsFullParser):
            fast_load(text)
        return
    try:
        fast = fast_load(text)
    except NeedsFullParser:
        return  # deferring is always allowed
    assert fast == expected


@pytest.mark.parametrize(
    "text",
    [
        "a: yes\nb: no\nc: on\nd: off\ne: y\n",  # YAML 1.1 booleans are strings in 1.2
        "a: true\nb: False\nc: TRUE\n",
        "a: ~\nb: null\nc:\nd: NULL\n",
        "a: 0\nb: -17\nc: +3\nd: 1.5\ne: -.5\nf: 1e3\ng: 2.5E-2\n",
        "a: 2027-01-01\nb: 2027-01-01T09:00:00+01:00\nc: 2027-01-01T09:00:00Z\n",
        "a: 2027-01-01T09:00:00.25Z\nb: 2027-01-01T09:00:00\n",
        "a: '010'\nb: \"yes\"\nc: 'true'\n",
        "base: &b {x: 1, y: [1, 2]}\nuse:\n  <<: *b\n  y: 3\n",
        "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n",
        "a: &a [1, 2]\nb: *a\nc: !!str 12\nd: !!int '7'\n",
        "a: [1, {b: c}, [d]]\n",
        "name: café ☕\n",
    ],
)
def test_common_forms_load_fast_and_equal(text: str) -> None:
    assert fast_load(text) == RUAMEL.load(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 010\n",
        "a: 1_000\n",
        "a: 0o17\n",
        "a: 0x1F\n",
        "a: .inf\n",
        "a: 1\na: 2\n",
        "%YAML 1.1\n---\na: yes\n",
        "a: !!binary aGVsbG8=\n",
        "a: !custom x\n",
        "a: 2027-01-01 09:00:00\n",
        "a: [\n",
        "? [a, b]\n: c\n",
        "a: !!bool yes\n",
        "a: !!set {x}\n",
        "a: &x [*x]\n",
        "b: &b {x: 1}\nc:\n  <<: *b\n  <<: *b\n",
        "b: [1]\nc:\n  <<: 3\n",
    ],
)
def test_unusual_forms_defer_to_ruamel(text: str) -> None:
    with pytest.raises(NeedsFullParser):
        fast_load(text)


scalars = st.one_of(
    st.text(alphabet="0123456789.-+_eExo:TZ ", max_size=12),
    st.sampled_from(["yes", "no", "on", "true", "False", "~", "null", "2027-01-01", "1e3"]),
    st.text(max_size=10),
)
flow = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(scalars, inner, max_size=3)
)


def plain_yaml(value: Any, indent: str = "") -> str:
    """Block YAML with plain scalars where possible: it exercises implicit resolution."""
    if isinstance(value, dict):
        return (
            "".join(
                f"{indent}{k!s}: {plain_yaml(v, indent + '  ').lstrip()}" for k, v in value.items()
            )
            or "{}\n"
        )
    if isinstance(value, list):
        return (
            "".join(f"{indent}- {plain_yaml(v, indent + '  ').lstrip()}" for v in value) or "[]\n"
        )
    return f"{value}\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text("abcdefgh", min_size=1, max_size=5), flow, min_size=1, max_size=6))
def test_generated_plain_documents_agree(document: dict[str, Any]) -> None:
    agree(plain_yaml(document))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_examples())
def test_mutated_examples_agree(raw: bytes) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    agree(text)


def test_the_examples_take_the_fast_path() -> None:
    for text in EXAMPLE_TEXTS:
        assert fast_load(text) == RUAMEL.load(text)


def test_nested_aliases_are_built_once_not_expanded() -> None:
    # Nine levels of ten aliases would be 10**9 strings if each alias were copied.
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]")
    loaded = fast_load("\n".join(lines) + "\n")
    assert loaded["a9"][0] is loaded["a8"]
