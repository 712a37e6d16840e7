"""The state recorder: one writer thread turns queued entry changes into state writes.

Each atomic write (serial + 1) takes every change queued while the one before it was
under way (group commit), so writes follow one another back to back and the caller of
`update` never waits for a write; `flush` waits for every change queued before it, and
changes queued `together` go into one write. After a failed write nothing more is
recorded, and every later call raises the failure.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from campaignsync.filestate import write_state
from campaignsync.state import Entry, State, StateEncoder

StateWriter = Callable[[Path, State, StateEncoder], State]
Change = Callable[[Entry | None], Entry | None]  # an entry's new value; None forgets it


@dataclass(frozen=True)
class _Queued:
    key: str | None  # None: a marker for `flush`, changing nothing
    change: Change
    written: threading.Event = field(default_factory=threading.Event)


class StateRecorder:
    """Writes each change to the state file, in the order made, from one writer thread."""

    def __init__(self, path: Path, state: State, *, write: StateWriter = write_state) -> None:
        self.path = path
        self.state = state
        self._write = write
        self._encoder = StateEncoder()
        self._queue: queue.SimpleQueue[_Queued] = queue.SimpleQueue()
        self._lock = threading.Lock()  # guards _writing, _held and _failure
        self._writing = False
        self._held = False  # changes are being queued together: no write takes a part
        self._failure: BaseException | None = None

    def update(self, key: str, change: Change) -> None:
        """Queue a change of `key`'s entry, to be written in the next write."""
        self._queue_and_wait(_Queued(key, change), wait=False)

    @contextlib.contextmanager
    def together(self) -> Iterator[None]:
        """Changes queued inside the block go into one write, started at its end; nothing
        inside may wait for a write."""
        with self._lock:
            self._held = True
        try:
            yield
        finally:
            with self._lock:
                self._held = False
                self._start_writing()

    def flush(self) -> None:
        """Return once every change queued so far is on disk."""
        self._queue_and_wait(_Queued(None, lambda entry: entry), wait=True)

    def _queue_and_wait(self, queued: _Queued, *, wait: bool) -> None:
        with self._lock:
            self._raise_any_failure()
            assert not (wait and self._held), "a change queued together cannot be waited for"
            self._queue.put(queued)
            self._start_writing()
        if wait:
            queued.written.wait()
            with self._lock:
                self._raise_any_failure()

    def _start_writing(self) -> None:
        # Called under the lock. A writer runs only while there is something to write.
        if not self._writing and not self._held and not self._queue.empty():
            self._writing = True
            threading.Thread(target=self._write_while_queued, name="state-writer").start()

    def _raise_any_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _write_while_queued(self) -> None:
        while True:
            with self._lock:
                batch = [] if self._held else _drain(self._queue)
                if not batch or self._failure is not None:
                    self._writing = False
                    break
            try:
                self.state = self._written(batch)
            except BaseException as exc:
                with self._lock:
                    self._failure = exc
            for queued in batch:
                queued.written.set()
        for queued in batch:  # left after a failure: wake whoever waits, to raise it
            queued.written.set()

    def _written(self, batch: list[_Queued]) -> State:
        state = self.state
        changes = [queued for queued in batch if queued.key is not None]
        for queued in changes:
            assert queued.key is not None
            state = state.with_entry(queued.key, queued.change(state.campaigns.get(queued.key)))
        return self._write(self.path, state, self._encoder) if changes else state


def _drain(waiting: queue.SimpleQueue[_Queued]) -> list[_Queued]:
    batch = []
    while True:
        try:
            batch.append(waiting.get_nowait())
        except queue.Empty:
            return batch
