"""The one scrubber: known secrets and control characters never reach the user."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import campaignsync
from campaignsync.scrub import MASK, remember_secret, scrub, untrusted


def test_secrets_of_the_environment_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONTORA_API_KEY", "ont_canary_env_41")
    monkeypatch.setenv("ONTORA_API_TOKEN", "tok_canary_env_42")
    text = scrub("key ont_canary_env_41, token tok_canary_env_42")
    assert text == f"key {MASK}, token {MASK}"


def test_remembered_and_given_secrets_are_masked() -> None:
    remember_secret("ont_canary_remembered_43")
    assert scrub("a ont_canary_remembered_43 b") == f"a {MASK} b"
    assert untrusted("a given_canary_44 b", secrets=("given_canary_44",)) == f"a {MASK} b"


def test_a_secret_is_masked_as_python_shows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONTORA_API_KEY", "ont_canary_45\n")
    shown_as = ("Illegal header value b'ont_canary_45\\n'", "ont_canary_45", "'ont_canary_45\\n'")
    for shown in shown_as:
        assert "ont_canary_45" not in scrub(shown)


def test_control_characters_are_escaped_but_lines_kept() -> None:
    text = scrub("a\x1b[2Jb\rc\x00d\x9be\u202ef\ng\th")
    assert text == "a\\u001b[2Jb\\u000dc\\u0000d\\u009be\\u202ef\ng\th"


def test_escapes_keep_a_json_document_valid() -> None:
    document = json.dumps({"name": "x\x7f\x85\u2066y"}, ensure_ascii=False)
    assert json.loads(scrub(document)) == {"name": "x\x7f\x85\u2066y"}


def test_colour_codes_survive_only_when_asked() -> None:
    painted = "\x1b[32m+ hr/onboarding\x1b[0m\x07"
    assert scrub(painted, colour=True) == "\x1b[32m+ hr/onboarding\x1b[0m\\u0007"
    assert "\x1b" not in scrub(painted)


def test_untrusted_text_is_one_line() -> None:
    assert untrusted("detail\n::error::forged\tx") == "detail\\n::error::forged x"


def test_a_secret_is_masked_as_json_shows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONTORA_API_TOKEN", 'tok"canary\\46')
    document = json.dumps({"detail": 'echo tok"canary\\46'})
    assert "canary" not in scrub(document)


def test_nothing_prints_but_through_the_scrubber() -> None:
    """Every module prints with terminal.echo, so no new code path can skip the scrubber."""
    package = Path(campaignsync.__file__).parent
    printing = re.compile(r"\bclick\.(echo|secho)\(|\bprint\(|sys\.(stdout|stderr)\.write\(")
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        if path.name != "terminal.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if printing.search(line)
    ]
    assert offenders == []


def test_a_secret_is_masked_as_a_url_encodes_it() -> None:
    remember_secret("pa/ss word@1")
    shown = scrub("postgresql://ci:pa%2Fss%20word%401@db/x and ?key=pa%2Fss+word%401")
    assert shown == "postgresql://ci:***@db/x and ?key=***"
