"""Reading a campaign file or contacts CSV safely: regular files inside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from campaignsync.errors import Problem
from campaignsync.textfile import NotReadable, decode, display_path, escaped, read_regular_file


def test_a_regular_file_inside_the_repository_is_read(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(b"name: x\n")
    assert read_regular_file(tmp_path / "a.yaml", tmp_path) == b"name: x\n"


def test_a_link_out_of_the_repository_is_refused_without_being_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    repository = tmp_path / "repo"
    repository.mkdir()
    (repository / "a.yaml").symlink_to(outside)
    with pytest.raises(NotReadable, match="resolves outside the repository"):
        read_regular_file(repository / "a.yaml", repository)


@pytest.mark.parametrize("inside", [".git/config", ".git/hooks/pre-commit", ".GIT/HEAD"])
def test_a_file_in_the_repositorys_git_folder_is_refused_unread(
    tmp_path: Path, inside: str
) -> None:
    path = tmp_path / inside
    path.parent.mkdir(parents=True)
    path.write_text("name: x\n")
    with pytest.raises(NotReadable, match=r"inside the repository's \.git folder"):
        read_regular_file(path, tmp_path)
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "git.yaml").write_text("name: x\n")  # a name, not the folder
    assert read_regular_file(tmp_path / "campaigns" / "git.yaml", tmp_path) == b"name: x\n"


def test_a_fifo_is_refused_unread(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    # Opening a FIFO for reading would block forever; the refusal comes first.
    with pytest.raises(NotReadable, match=r"is a FIFO.*not a regular file; a contacts CSV"):
        read_regular_file(tmp_path / "pipe.yaml", tmp_path, what="a contacts CSV")


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").mkdir()
    with pytest.raises(NotReadable, match="not a regular file"):
        read_regular_file(tmp_path / "d.yaml", tmp_path)


def test_a_file_over_the_limit_is_refused_with_its_size(tmp_path: Path) -> None:
    (tmp_path / "big.yaml").write_bytes(b"x" * (3 * 1_048_576))
    with pytest.raises(NotReadable, match=r"is 3\.0 MiB, over the 2 MiB limit"):
        read_regular_file(tmp_path / "big.yaml", tmp_path, limit=2 * 1_048_576)


def test_missing_files_and_dangling_links_say_which(tmp_path: Path) -> None:
    with pytest.raises(NotReadable, match=r"^does not exist$"):
        read_regular_file(tmp_path / "none.yaml", tmp_path)
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "gone.yaml")
    with pytest.raises(NotReadable, match="is a link to a missing file"):
        read_regular_file(tmp_path / "dangling.yaml", tmp_path)


def test_a_name_with_a_nul_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotReadable, match="NUL"):
        read_regular_file(Path(str(tmp_path) + "/a\0.yaml"), tmp_path)


def test_names_are_shown_with_control_characters_escaped(tmp_path: Path) -> None:
    assert escaped("a\nb\x1b[31m") == "a\\nb\\x1b[31m"
    assert escaped("plain name") == "plain name"
    shown = display_path(Path.cwd() / "x\ny.yaml")
    assert "\n" not in shown
    assert shown.endswith("x\\ny.yaml")


def test_text_is_utf8_with_an_optional_bom_and_binary_is_refused() -> None:
    assert decode("\ufeffname: é\n".encode(), "a.yaml") == "name: é\n"
    binary = decode(b"name: x\0", "a.yaml")
    assert isinstance(binary, Problem)
    assert "binary" in binary.message
    latin = decode(b"name: x\nbad: \xe9\n", "a.yaml")
    assert isinstance(latin, Problem)
    assert latin.line == 2
    assert "not UTF-8" in latin.message
