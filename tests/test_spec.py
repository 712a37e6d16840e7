"""The campaign key rule: the one check both file names and `import` keys go through."""

from __future__ import annotations

import pytest

from campaignsync.spec import check_key


@pytest.mark.parametrize(
    "key", ["onboarding", "hr/onboarding", "hr/2027/q1-survey_v2.1", "A/b.c/D-e_f"]
)
def test_safe_keys_pass(key: str) -> None:
    assert check_key(key) is None


@pytest.mark.parametrize(
    "key",
    [
        "",
        "x//y",
        "trail/",
        "/abs",
        "../up",
        "a/../b",
        "a/./b",
        ".hidden",
        "a/.hidden",
        "new\nline",
        "tab\there",
        "sp ace",
        "semi;colon",
        "back\\slash",
        "ümlaut",
        "nul\x00",
    ],
)
def test_unsafe_keys_have_a_problem(key: str) -> None:
    problem = check_key(key)
    assert problem is not None
    assert "\n" not in problem
