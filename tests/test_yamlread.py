"""One reader decides what YAML text means: YAML 1.2 core values, exact types, bounded size."""

from __future__ import annotations

import math
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignsync.errors import ValidationFailed
from campaignsync.loader import load_campaigns
from campaignsync.yamldoc import (
    YamlSyntaxError,
    dump_yaml,
    parse_yaml,
    read_yaml,
    render_campaign_yaml,
)
from tests.conftest import RunCli, WriteCampaign
from tests.test_loader_fuzz import EXAMPLE_TEXTS, mutated_examples


def same(actual: Any, expected: Any) -> bool:
    """Equal with the same types all the way down: 1, 1.0 and True are three values."""
    if type(actual) is not type(expected):
        return False
    if isinstance(actual, dict):  # in any order, as YAML mappings are
        mine = {(type(key), key): value for key, value in actual.items()}
        theirs = {(type(key), key): value for key, value in expected.items()}
        return mine.keys() == theirs.keys() and all(same(mine[k], theirs[k]) for k in mine)
    if isinstance(actual, list):
        return len(actual) == len(expected) and all(map(same, actual, expected))
    if isinstance(actual, float) and math.isnan(expected):
        return math.isnan(actual)
    return bool(actual == expected)


def test_same_tells_one_from_one_point_oh_from_true() -> None:
    assert same({"a": [1]}, {"a": [1]})
    assert not same({"a": [1]}, {"a": [1.0]})
    assert not same({"a": 1}, {"a": True})
    assert not same({1: "a"}, {1.0: "a"})
    assert same(math.nan, math.nan)


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        # YAML 1.1 words are text in 1.2.
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("tRuE", "tRuE"),
        ("~", None),
        ("null", None),
        ("Null", None),
        ("NULL", None),
        ("", None),
        ("nULL", "nULL"),
        ("0", 0),
        ("-17", -17),
        ("+3", 3),
        ("010", 10),  # decimal in 1.2, not octal eight
        ("0o17", 15),
        ("0x1F", 31),
        ("0xff", 255),
        ("-0x1F", "-0x1F"),
        ("0b101", "0b101"),
        ("1_000", "1_000"),
        ("0o19", "0o19"),
        ("1", 1),
        ("1.0", 1.0),
        ("1.50", 1.5),
        ("1.", 1.0),
        ("-.5", -0.5),
        ("1e3", 1000.0),
        ("2.5E-2", 0.025),
        (".inf", math.inf),
        ("-.Inf", -math.inf),
        ("+.INF", math.inf),
        (".nan", math.nan),
        (".NaN", math.nan),
        ("-.nan", "-.nan"),
        ("1.2.3", "1.2.3"),
        ("12:30", "12:30"),
        ("2027-01-01", "2027-01-01"),  # the 1.2 core schema has no timestamps
        ("2027-01-01T09:00:00.1234567Z", "2027-01-01T09:00:00.1234567Z"),
        ("2027-01-01 09:00:00", "2027-01-01 09:00:00"),
        ("'010'", "010"),
        ('"true"', "true"),
        ("'~'", "~"),
        ("!!str 12", "12"),
        ("!!int '7'", 7),
        ("!!int 0x10", 16),
        ("!!float 1", 1.0),
        ("!!float '-.inf'", -math.inf),
        ("!!float 1" + "0" * 400, math.inf),  # beyond the largest number, as 1e400 reads
        ("!!float 0x" + "f" * 300, math.inf),
        ("0x" + "f" * 3570, 16**3570 - 1),  # 4,299 digits
        ("!!bool 'false'", False),
        ("!!null ''", None),
        ("! 12", "12"),
        ("!<tag:yaml.org,2002:int> '3'", 3),
        ("café ☕", "café ☕"),
    ],
)
def test_scalars_mean_what_yaml_1_2_core_says(written: str, meant: Any) -> None:
    assert same(parse_yaml(f"a: {written}\n"), {"a": meant})


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("a: [1, {b: c}, [d]]\n", {"a": [1, {"b": "c"}, ["d"]]}),
        ("1: a\n1.0: b\ntrue: c\n~: d\n", None),  # keys equal in Python: see below
        ("base: &b {x: 1, y: [1, 2]}\nuse:\n  <<: *b\n  y: 3\n", None),
        ("a: &a [1, 2]\nb: *a\n", {"a": [1, 2], "b": [1, 2]}),
        ("%YAML 1.2\n---\na: yes\n", {"a": "yes"}),
        ("%TAG !e! tag:yaml.org,2002:\n---\na: !e!int '3'\n", {"a": 3}),
        ("a: &x 1\nb: &x 2\nc: *x\n", {"a": 1, "b": 2, "c": 2}),  # the nearest anchor wins
        ("--- a\n...\n", "a"),
        ("# only a comment\n", None),
    ],
)
def test_documents(text: str, meant: Any) -> None:
    if text.startswith("base"):
        meant = {"base": {"x": 1, "y": [1, 2]}, "use": {"x": 1, "y": 3}}
    elif text.startswith("1:"):
        with pytest.raises(YamlSyntaxError, match="duplicate key"):
            parse_yaml(text)
        return
    assert same(parse_yaml(text), meant)


def test_merge_keys_take_earlier_sources_first_and_explicit_keys_over_all() -> None:
    text = "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  z: 3\n  <<: [*a, *b]\n"
    assert same(parse_yaml(text)["c"], {"x": 1, "y": 1, "z": 3})


def test_tabs_libyaml_accepts_are_read_as_yaml_1_2_reads_them() -> None:
    assert same(
        parse_yaml("a:\tb\nc: x\ty\nd: [1,\t2]\ne: 1\t# a\tcomment\n"),
        {
            "a": "b",
            "c": "x\ty",
            "d": [1, 2],
            "e": 1,
        },
    )


def at(text: str) -> tuple[int | None, int | None, str]:
    with pytest.raises(YamlSyntaxError) as caught:
        parse_yaml(text)
    return caught.value.line, caught.value.column, caught.value.message


@pytest.mark.parametrize(
    ("text", "line", "column", "says"),
    [
        ("name: A\nname: B\n", 2, 1, "duplicate key 'name': each field may appear only once"),
        ("a:\n  b: 1\n  c: 2\n  b: 3\n", 4, 3, "duplicate key 'b'"),
        ("? [a, b]\n: c\n", 1, 3, "a list cannot be a key"),
        ("x: {{a: 1}: b}\n", 1, 5, "a mapping cannot be a key"),
        ("l: &l [1]\nm:\n  *l : x\n", 3, 3, "a list cannot be a key"),
        ("a: !!binary aGVsbG8=\n", 1, 4, "the tag !!binary"),
        ("a: !custom x\n", 1, 4, "the tag !custom"),
        ("a: !!set {x}\n", 1, 4, "the tag !!set"),
        ("a: !!timestamp 2027-01-01\n", 1, 4, "the tag !!timestamp"),
        ("a: !!int abc\n", 1, 4, "!!int"),
        ("a: !!int\n", 1, 4, "!!int"),
        ("a: !!bool yes\n", 1, 4, "!!bool"),
        ("a: !!null x\n", 1, 4, "!!null"),
        ("a: !!float x\n", 1, 4, "!!float"),
        ("a: !!seq x\n", 1, 4, "!!seq"),
        ("a: !!map [x]\n", 1, 4, "!!map"),
        ("a: !!str [x]\n", 1, 4, "!!str"),
        ("a: &x [*x]\n", 1, 8, "refers to the list or mapping it is inside"),
        ("a: *nowhere\n", 1, 4, "no anchor"),
        ("b: [1]\nc:\n  <<: 3\n", 3, 7, "a merge key (<<) takes a mapping or a list of mappings"),
        ("b: &b {x: 1}\nc:\n  <<: *b\n  <<: *b\n", 4, 3, "one merge key"),
        ("%YAML 1.1\n---\na: yes\n", 1, 1, "YAML 1.2"),
        ("a: [\n", 2, 1, "YAML syntax: "),
        ("name: [A\n", 2, 1, "YAML syntax: "),
        ("a: 1\nb: [1, 2\nc: 3\n", 3, 2, "YAML syntax: "),
        ("--- a\n--- b\n", 2, 1, "one document"),
        ("a: x\u2028y\n", 1, 5, "U+2028"),
        ("a: 1\n# note\x85b: 2\n", 2, 7, "U+0085"),
        ("a: caf\u00e9\x01\n", 1, 8, "control character"),
        ("a: " + "9" * 5000 + "\n", 1, 4, "digits"),
        ("a: 0x" + "f" * 3600 + "\n", 1, 4, "more than the 4,300 digits"),
        ("a: 0o" + "7" * 4800 + "\n", 1, 4, "more than the 4,300 digits"),
        # libyaml refuses a tab that begins a line, even where YAML 1.2 allows it.
        ("a: 1\n\t# note\nb: 2\n", 2, 1, "tab"),
        ("a: 1\n\t\nb: 2\n", 2, 1, "tab"),
        ("- a\n-\tb\n", 2, 2, "tab"),
        ("a: {?0: 1}\n", 1, 6, "'?' right before a key"),
        ("a: [?x]\n", 1, 6, "'?' right before a key"),
    ],
)
def test_what_cannot_be_read_is_refused_at_its_position(
    text: str, line: int, column: int, says: str
) -> None:
    found_line, found_column, message = at(text)
    assert says in message
    assert (found_line, found_column) == (line, column), message


def bomb(levels: int, width: int = 10) -> str:
    lines = ["name: Bomb", "weekly_availability:", f"  a0: &a0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        aliases = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"  a{level}: &a{level} [{aliases}]")
    return "\n".join(lines) + "\n"


def peak_bytes(action: Any) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_an_alias_bomb_is_refused_at_its_first_alias_without_expanding_it() -> None:
    text = bomb(12)  # 10**12 strings if expanded
    assert peak_bytes(lambda: at(text)) < 2_000_000
    line, column, message = at(text)
    assert (line, column) == (4, 12)
    assert "aliases" in message
    assert "100,000" in message


def test_aliases_within_the_limit_are_kept() -> None:
    loaded = parse_yaml(bomb(4))  # 10**4 values
    assert loaded["weekly_availability"]["a3"][9][9][9][9] == "lol"


@pytest.mark.parametrize(("depth", "refused"), [(64, False), (65, True)])
def test_nesting_is_bounded_at_64_levels(depth: int, refused: bool) -> None:
    # The document itself is one level: `depth` counts every mapping and list.
    text = "a: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"
    if refused:
        assert at(text)[:2] == (1, 3 + depth - 1)
        assert "64 levels" in at(text)[2]
    else:
        assert parse_yaml(text)["a"] is not None


def test_nesting_through_an_alias_is_bounded_too() -> None:
    deep = "[" * 40 + "]" * 40
    text = f"a: &a {deep}\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]]\n"
    line, column, message = at(text)
    assert (line, column) == (2, 30)
    assert "64 levels" in message


def test_plan_refuses_an_alias_bomb_in_bounded_memory(
    project: Path, write_campaign: WriteCampaign, run_cli: RunCli
) -> None:
    write_campaign("bomb.yaml", bomb(6))  # a million values: small enough to see a regression
    write_campaign("good.yaml", "name: G\n")
    results: list[Any] = []
    peak = peak_bytes(lambda: results.append(run_cli("plan")))
    (result,) = results
    assert result.exit_code == 1
    assert result.output.startswith("campaigns/bomb.yaml:4:12: ")
    assert peak < 30_000_000


def test_hostile_files_fail_alone_and_the_others_are_still_checked(
    project: Path, write_campaign: WriteCampaign, run_cli: RunCli
) -> None:
    write_campaign("bomb.yaml", bomb(9))
    write_campaign("deep.yaml", "name: D\nweekly_availability: " + "{a: " * 70 + "}" * 70 + "\n")
    write_campaign("typo.yaml", "name: T\ngoals: x\n")
    write_campaign("good.yaml", "name: G\n")
    result = run_cli("validate")
    assert result.exit_code == 1
    assert "campaigns/bomb.yaml:4:12: " in result.output
    assert "campaigns/deep.yaml:2:" in result.output
    assert "campaigns/typo.yaml:2:1: unknown field 'goals'" in result.output
    assert "3 problem(s) in 3 file(s)." in result.output


# --- Agreement with a writer: what ruamel writes, the reader reads back exactly -------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "yes",
            "no",
            "on",
            "~",
            "null",
            "010",
            "0o17",
            "0x1F",
            "1_000",
            "1e3",
            ".inf",
            ".nan",
            "2027-01-01",
            "2027-01-01T09:00:00.5Z",
            "<<",
            "1.50",
            "+3",
            "-",
            "",
            " x ",
            "a: b",
            "#x",
            "@x",
            "true",
            "True",
            "tRUE",
            ".5e3",
            "+.5",
            "-.5E-3",
            "\x85",
            "a\u2028b",
            "\u2029",
            "0o8",
            "0xG",
            "?0",
            "? x",
            "?",
        ]
    ),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values, st.booleans())
def test_what_the_writer_writes_is_read_back_exactly(value: Any, flow: bool) -> None:
    text = dump_yaml({"v": value}, flow=flow)
    assert same(parse_yaml(text), {"v": value}), text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["name", "goal"]) | st.text(max_size=6), json_values))
def test_imported_files_are_read_back_exactly(fields: dict[str, Any]) -> None:
    text = render_campaign_yaml(fields, comments=["imported", "", "by a test"])
    assert same(parse_yaml(text), fields), text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_examples())
def test_any_mutated_example_is_read_or_refused_with_a_position(raw: bytes) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    try:
        parse_yaml(text)
    except YamlSyntaxError as exc:
        refused: YamlSyntaxError | None = exc
    else:
        refused = None
    assert refused is None or (bool(refused.message) and (refused.line or 1) >= 1)


def test_the_examples_read_as_before() -> None:
    for text in EXAMPLE_TEXTS:
        assert isinstance(parse_yaml(text), dict)


def test_reading_never_loads_ruamel() -> None:
    script = (
        "import sys; from campaignsync.yamldoc import parse_yaml; "
        "parse_yaml('a: [1, {b: c}]\\nd: &x 2\\ne: *x\\n'); "
        "print(sorted(name for name in sys.modules if name.startswith('ruamel')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert loaded.stdout == "[]\n"


# --- Timestamps: text to the reader, decided once by the campaign model ---------------


def test_a_tab_in_a_comment_never_changes_a_timestamp(
    project: Path, write_campaign: WriteCampaign
) -> None:
    moment = "2027-01-01T09:00:00.1234565+01:00"
    write_campaign("plain.yaml", f"name: A\ntimeframe_start: {moment}\n")
    write_campaign("tabbed.yaml", f"name: A\ntimeframe_start: {moment}  #\tnote\n")
    with pytest.raises(ValidationFailed) as failed:
        load_campaigns(project / "campaigns", project)
    assert [str(p) for p in failed.value.problems] == [
        f"campaigns/{name}.yaml:2:18: timeframe_start: {moment!r} is more precise than a "
        "microsecond; write at most 6 digits after the seconds"
        for name in ("plain", "tabbed")
    ]


def test_microseconds_and_offsets_survive_exactly(
    project: Path, write_campaign: WriteCampaign
) -> None:
    write_campaign(
        "a.yaml",
        "name: A\ntimeframe_start: 2027-01-01T09:00:00.999999+01:00\n"
        "timeframe_end: 2027-01-01t09:00:00.000001z # \t\n",
    )
    (campaign,) = load_campaigns(project / "campaigns", project)
    assert campaign.managed["timeframe_start"] == "2027-01-01T08:00:00.999999Z"
    assert campaign.managed["timeframe_end"] == "2027-01-01T09:00:00.000001Z"


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("2026-03-01", "the date-time needs a time zone, like 2026-03-01T09:00:00Z or +01:00"),
        ("2027-02-31T09:00:00Z", "'2027-02-31T09:00:00Z' is not a date-time: day value is"),
        ("2027-01-01 09:00 +1", "'2027-01-01 09:00 +1' is not a date-time"),
        ("1234", "expected a date-time with a time zone, like 2026-03-01T09:00:00Z"),
    ],
)
def test_a_date_that_is_not_a_date_time_gets_a_clear_message(
    project: Path, write_campaign: WriteCampaign, written: str, says: str
) -> None:
    write_campaign("a.yaml", f"name: A\ntimeframe_start: {written}\n")
    with pytest.raises(ValidationFailed) as failed:
        load_campaigns(project / "campaigns", project)
    (problem,) = failed.value.problems
    assert str(problem).startswith(f"campaigns/a.yaml:2:18: timeframe_start: {says}")


@pytest.mark.parametrize(
    ("text", "depth", "unusual"),
    [
        ("a: 1\n", 1, False),
        ("a: [1, {b: 'x'}]\n", 3, False),
        ("a: .nan\n", 1, True),
        ("a: [1, -.inf]\n", 2, True),
        ("a: 1e999\n", 1, True),
        ("a: !!float .inf\n", 1, True),
        ("'1': 1\n'null': 2\n", 1, False),
        ("1: a\n", 1, True),
        ("a: {null: b}\n", 2, True),
        ("a: &x 2\nb: {*x : c}\n", 2, True),
        ("a: &x [[[]]]\nb: [*x]\n", 5, False),
        ("a: &x .inf\nb: *x\n", 1, True),
        ("", 0, False),
    ],
)
def test_reading_tells_how_deep_and_how_unusual_the_values_are(
    text: str, depth: int, unusual: bool
) -> None:
    parsed = read_yaml(text)
    assert (parsed.depth, parsed.unusual) == (depth, unusual)


def test_an_example_campaign_reads_as_usual() -> None:
    for text in EXAMPLE_TEXTS:
        assert not read_yaml(text).unusual
