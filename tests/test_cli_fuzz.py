"""Hostile inputs through validate, plan and apply: never a traceback, state never corrupted.

Generated campaign files and CSVs (mutated bytes, hostile values, files that are not what
they seem), state files, saved plans and option values are fed to the CLI in-process;
apply talks to the real emulator on loopback. After every command: an exit code of the
contract, no traceback, no "internal error", and a state file that is either byte for
byte what it was or valid JSON that `read_state` loads.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignsync.cli import cli
from campaignsync.filestate import read_state
from tests.conftest import REPO
from tests.emulator_harness import TOKEN, WORKSPACE, Emulator
from tests.mutations import mutated_bytes

EXAMPLES = {
    path.relative_to(REPO / "campaigns").as_posix(): path.read_bytes()
    for path in sorted((REPO / "campaigns").rglob("*"))
    if path.is_file()
}
YAML_FILES = sorted(name for name in EXAMPLES if name.endswith(".yaml"))
CSV_FILES = sorted(name for name in EXAMPLES if name.endswith(".csv"))
STATE = "campaignsync.state.json"

HOSTILE_VALUES = [
    "null",
    "~",
    "",
    ".nan",
    "-.inf",
    "[]",
    "{}",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "{? [a, b]: c}",
    "{1: 2}",
    "2027-02-31",
    "2027-01-01T25:00:00Z",
    "Europe",
    "../../etc/passwd",
    "/dev/zero",
    ".",
    "9" * 5000,
    "-1",
    "1e400",
    "0x1F",
    "!!binary aGVsbG8=",
    "!!python/object:os.system x",
    "*undefined",
    "&a [*a]",
    '"\\u202e evil"',
    '"line\\nforged"',
    '"\\0"',
    "yes",
    "'²'",
]
HOSTILE_CELLS = ["²", "9" * 5000, "-", "true", "maybe", "a@b", '"', "\x00", "=cmd()", "\u202e"]
HOSTILE_OPTIONS = [
    "",
    "..",
    "../..",
    "/",
    "*",
    "[",
    "hr/../../x",
    "a\nb",
    "\x1b[31m",
    "-1",
    "1e999",
    "nan",
    "ont_abc\n",
    "http://127.0.0.1:1",
    "ftp://x",
    "not-a-uuid",
    "plan.json",
    "campaigns",
]
SPECIALS = ["link-outside", "link-device", "fifo", "newline-name", "upper-suffix", "linked-dir"]
CASES = {"count": 0}


@dataclass
class Case:
    """One generated trial: the repository's files, then the commands run on it in order."""

    files: dict[str, bytes]
    commands: list[list[str]]
    state: bytes | None = None
    plan: bytes | None = None
    specials: list[str] = field(default_factory=list)


# --- Generating hostile inputs ------------------------------------------------------------


@st.composite
def hostile_yaml(draw: st.DrawFn, original: bytes) -> bytes:
    """The file with one value, or one new top-level field, replaced by a hostile value."""
    lines = original.decode("utf-8", "surrogateescape").splitlines()
    value = draw(st.sampled_from(HOSTILE_VALUES) | st.text(max_size=12))
    candidates = [i for i, line in enumerate(lines) if ": " in line and not line.startswith("#")]
    replace_one = draw(st.booleans())
    if candidates and replace_one:
        index = draw(st.sampled_from(candidates))
        key = lines[index].split(": ", 1)[0]
        lines[index] = f"{key}: {value}"
    else:
        name = draw(st.sampled_from(["topics", "timezone", "contacts", "weekly_availability"]))
        lines = [line for line in lines if not line.startswith(f"{name}:")]
        lines.append(f"{name}: {value}")
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


@st.composite
def hostile_csv(draw: st.DrawFn, original: bytes) -> bytes:
    header = original.decode("utf-8", "surrogateescape").splitlines()[0]
    cells = draw(st.lists(st.sampled_from(HOSTILE_CELLS) | st.text(max_size=8), max_size=10))
    row = ",".join(cells[: header.count(",") + 1])
    return original + row.encode("utf-8", "surrogatepass") + b"\n"


@st.composite
def campaign_files(draw: st.DrawFn) -> dict[str, bytes]:
    files = dict(EXAMPLES)
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        target = draw(st.sampled_from(YAML_FILES + CSV_FILES))
        original = files[target]
        if target.endswith(".csv"):
            files[target] = draw(mutated_bytes(original) | hostile_csv(original))
        else:
            files[target] = draw(mutated_bytes(original) | hostile_yaml(original))
    return files


@st.composite
def campaign_cases(draw: st.DrawFn) -> Case:
    plan_format = draw(st.sampled_from(["text", "json", "markdown"]))
    commands = [["validate"], ["plan", "--format", plan_format]]
    if draw(st.booleans()):  # apply is the slow part: every other case, to keep time down
        commands.append(["apply", "--auto-approve"])
    return Case(
        files=draw(campaign_files()),
        specials=draw(st.lists(st.sampled_from(SPECIALS), max_size=2, unique=True)),
        commands=commands,
    )


def json_mutations(document: Any) -> st.SearchStrategy[Any]:
    """The document with one value somewhere in it replaced, or one key removed."""
    paths: list[tuple[Any, ...]] = []

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(document, ())
    replacement: st.SearchStrategy[Any] = st.sampled_from(
        [None, -1, 0, 2**70, 1.5, "", "x", "not-a-uuid", "../x", [], {}, [[]], True, "\u202e"]
    )

    @st.composite
    def mutate(draw: st.DrawFn) -> Any:
        copy = json.loads(json.dumps(document))
        path = draw(st.sampled_from(paths[1:] or [()]))
        if not path:
            return draw(replacement)
        parent = copy
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(replacement)
        return copy

    return mutate()


# --- Running a case -----------------------------------------------------------------------


def run_case(case: Case, emulator: Emulator) -> None:
    CASES["count"] += 1
    env = {
        "ONTORA_API_URL": emulator.url,
        "ONTORA_API_TOKEN": TOKEN,
        "ONTORA_API_KEY": None,
        "ONTORA_WORKSPACE_ID": WORKSPACE,
        "CAMPAIGNSYNC_DIR": None,
        "CAMPAIGNSYNC_STATE": None,
        "CAMPAIGNSYNC_DEBUG": None,
        "NO_COLOR": "1",
    }
    with repository(case) as root:
        for args in case.commands:
            before = _read(root / STATE)
            result = CliRunner().invoke(cli, args, env=env, input="no\n", catch_exceptions=False)
            assert_clean(args, result)
            assert_state_intact(root / STATE, before, emulator.url)


@contextlib.contextmanager
def repository(case: Case) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / ".git").mkdir()
        for relative, content in case.files.items():
            (root / "campaigns" / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / "campaigns" / relative).write_bytes(content)
        if case.state is not None:
            (root / STATE).write_bytes(case.state)
        if case.plan is not None:
            (root / "plan.json").write_bytes(case.plan)
        for special in case.specials:
            _make_special(root / "campaigns", special)
        with contextlib.chdir(root):
            yield root


def _make_special(campaigns: Path, special: str) -> None:
    if special == "link-outside":
        (campaigns / "outside.yaml").symlink_to("/etc/passwd")
    elif special == "link-device":
        (campaigns / "zero.yaml").symlink_to("/dev/zero")
    elif special == "fifo":
        os.mkfifo(campaigns / "pipe.yaml")
    elif special == "newline-name":
        (campaigns / "forged\n::error file=x::owned.yaml").write_text("name: Forged\n")
    elif special == "upper-suffix":
        (campaigns / "Loud.YAML").write_text("name: Loud\n")
    else:
        (campaigns / "again").symlink_to(campaigns / "hr")


def assert_clean(args: list[str], result: Result) -> None:
    shown = f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    assert result.exit_code in (0, 1, 2, 3), shown
    for output in (result.stdout, result.stderr):
        assert "Traceback" not in output, shown
        assert "internal error" not in output, shown
    if result.exit_code == 1:
        assert result.stderr.strip() or result.stdout.strip(), "a failure must say why"


def assert_state_intact(path: Path, before: bytes | None, api_url: str) -> None:
    after = _read(path)
    if after == before:
        return
    assert after is not None, "the state file was deleted"
    json.loads(after)
    read_state(path, api_url=api_url, workspace_id=WORKSPACE)


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


# --- The trials ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline(emulator: Emulator) -> tuple[bytes, bytes]:
    """A state after applying the examples, and a saved plan of one edit made against it."""
    with repository(Case(files=dict(EXAMPLES), commands=[])) as root:
        runner = CliRunner()
        env = {"ONTORA_API_URL": emulator.url, "ONTORA_API_TOKEN": TOKEN}
        env |= {"ONTORA_WORKSPACE_ID": WORKSPACE}
        assert runner.invoke(cli, ["apply", "--auto-approve"], env=env).exit_code == 0
        path = root / "campaigns" / YAML_FILES[0]
        path.write_text(path.read_text().replace("name: ", "name: Renamed ", 1))
        assert runner.invoke(cli, ["plan", "--out", "plan.json"], env=env).exit_code == 0
        return (root / STATE).read_bytes(), (root / "plan.json").read_bytes()


FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)


def test_hostile_campaign_files(emulator: Emulator) -> None:
    @settings(FUZZ, max_examples=300)
    @given(campaign_cases())
    def trial(case: Case) -> None:
        run_case(case, emulator)

    start = CASES["count"]
    trial()
    print(f"hostile campaign files: {CASES['count'] - start} cases")
    assert CASES["count"] - start >= 300


def test_hostile_state_files(emulator: Emulator, baseline: tuple[bytes, bytes]) -> None:
    state = json.loads(baseline[0])

    @settings(FUZZ, max_examples=300)
    @given(
        st.one_of(
            json_mutations(state).map(lambda document: json.dumps(document).encode()),
            mutated_bytes(baseline[0]),
        ),
        st.sampled_from([["plan"], ["apply", "--auto-approve"], ["state", "list"]]),
    )
    def trial(content: bytes, command: list[str]) -> None:
        run_case(Case(files=dict(EXAMPLES), state=content, commands=[command]), emulator)

    start = CASES["count"]
    trial()
    print(f"hostile state files: {CASES['count'] - start} cases")
    assert CASES["count"] - start >= 300


def test_hostile_saved_plans(emulator: Emulator, baseline: tuple[bytes, bytes]) -> None:
    state_bytes, plan_bytes = baseline
    saved = json.loads(plan_bytes)

    @settings(FUZZ, max_examples=200)
    @given(
        st.one_of(
            json_mutations(saved).map(lambda document: json.dumps(document).encode()),
            mutated_bytes(plan_bytes),
        )
    )
    def trial(content: bytes) -> None:
        case = Case(
            files=dict(EXAMPLES), state=state_bytes, plan=content, commands=[["apply", "plan.json"]]
        )
        run_case(case, emulator)

    start = CASES["count"]
    trial()
    print(f"hostile saved plans: {CASES['count'] - start} cases")
    assert CASES["count"] - start >= 200


OPTIONS = {
    "validate": ["--dir", "--format"],
    "plan": ["--dir", "--target", "--format", "--state", "--api-url", "--workspace-id", "--out"],
    "apply": ["--target", "--lock-timeout", "--parallelism", "--max-retries", "--state"],
}


@st.composite
def option_commands(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(OPTIONS)))
    args = [command] + (["--auto-approve"] if command == "apply" else [])
    for option in draw(st.lists(st.sampled_from(OPTIONS[command]), min_size=1, max_size=3)):
        value = draw(st.sampled_from(HOSTILE_OPTIONS) | st.text(max_size=10))
        args += [option, value]
    return args


def test_hostile_option_values(emulator: Emulator, baseline: tuple[bytes, bytes]) -> None:
    @settings(FUZZ, max_examples=250)
    @given(option_commands())
    def trial(command: list[str]) -> None:
        run_case(Case(files=dict(EXAMPLES), state=baseline[0], commands=[command]), emulator)

    start = CASES["count"]
    trial()
    print(f"hostile option values: {CASES['count'] - start} cases")
    assert CASES["count"] - start >= 250
