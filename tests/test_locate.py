"""A 422's refused values, placed in the campaign file they came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaignsync.locate import refused_values


def test_each_refused_value_is_shown_at_its_yaml_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # paths are shown relative to where campaignsync runs
    Path("a.yaml").write_text("name: A\ntopics:\n  - name: Tools\n    description: x\n")
    detail = [
        {"loc": ["body", "topics", 0, "name"], "msg": "Value error, too short"},
        {"loc": [], "msg": "odd"},
        "not a problem",
    ]
    assert refused_values("a.yaml", detail) == [
        "a.yaml:3:11: topics[0].name: too short",
        "a.yaml: odd",
    ]
