"""The state recorder: changes written in order, a flush waited for, failures shared."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import pytest

from campaignsync.filestate import write_state
from campaignsync.recorder import StateRecorder
from campaignsync.state import Entry, State, StateEncoder
from tests.factories import API_URL, ID_A, ID_B, WORKSPACE, read_back


class HeldWrites:
    """A state writer that writes only once allowed, and keeps each state it wrote."""

    def __init__(self) -> None:
        self.allowed = threading.Event()
        self.started = threading.Event()
        self.written: list[State] = []

    def __call__(self, path: Path, state: State, encoder: StateEncoder) -> State:
        self.started.set()
        assert self.allowed.wait(timeout=10), "the test never allowed the write"
        written = write_state(path, state, encoder)
        self.written.append(written)
        return written


def on_disk(path: Path) -> set[str]:
    return set(read_back(path).campaigns)


def test_a_flush_returns_only_once_the_changes_before_it_are_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    writes = HeldWrites()
    recorder = StateRecorder(path, State(api_url=API_URL, workspace_id=WORKSPACE), write=writes)
    recorder.update("a", lambda entry: Entry(interview_id=ID_A))
    assert writes.started.wait(timeout=10)  # returned while its write is held
    seen_on_return: list[set[str]] = []

    def flushed() -> None:
        recorder.update("b", lambda entry: Entry(interview_id=ID_B))
        recorder.flush()
        seen_on_return.append(on_disk(path))

    waiter = threading.Thread(target=flushed)
    waiter.start()
    waiter.join(timeout=0.2)  # time for a flush that wrongly returns at once to do so
    writes.allowed.set()
    waiter.join(timeout=10)
    assert seen_on_return == [{"a", "b"}]
    # Written in the order made, every change once; nothing is left behind by flush.
    recorder.flush()
    assert [set(state.campaigns) for state in writes.written][-1] == {"a", "b"}
    assert recorder.state.serial == writes.written[-1].serial


def test_a_change_of_none_forgets_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    recorder = StateRecorder(path, State(api_url=API_URL, workspace_id=WORKSPACE))
    recorder.update("a", lambda entry: Entry(interview_id=ID_A))
    recorder.flush()
    recorder.update("a", lambda entry: None)
    recorder.flush()
    assert on_disk(path) == set()


def test_after_a_failed_write_every_call_raises_it_and_nothing_more_is_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    recorder = StateRecorder(path, State(api_url=API_URL, workspace_id=WORKSPACE))
    recorder.update("a", lambda entry: Entry(interview_id=ID_A))
    recorder.flush()

    def broken(entry: Entry | None) -> Entry:
        raise OSError("disk full")

    recorder.update("c", broken)
    with pytest.raises(OSError, match="disk full"):
        recorder.flush()
    with pytest.raises(OSError, match="disk full"):
        recorder.update("d", lambda entry: Entry(interview_id=ID_A))
    assert on_disk(path) == {"a"}


def test_changes_queued_together_are_one_write_even_while_another_is_under_way(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    writes = HeldWrites()
    recorder = StateRecorder(path, State(api_url=API_URL, workspace_id=WORKSPACE), write=writes)
    recorder.update("a", lambda entry: Entry(interview_id=ID_A))
    assert writes.started.wait(timeout=10)  # a write under way, held
    ids = [f"{n:08}-0000-4000-8000-000000000000" for n in range(30)]
    with recorder.together():
        for number, interview_id in enumerate(ids):
            recorder.update(f"k{number}", functools.partial(_entry_of, interview_id))
            if number == 0:
                writes.allowed.set()  # the write under way ends while the rest is queued
    recorder.flush()
    assert [len(state.campaigns) for state in writes.written] == [1, 31]


def _entry_of(interview_id: str, entry: Entry | None) -> Entry:
    return Entry(interview_id=interview_id)
