"""`campaignsync apply` running in the background, for tests that stop it part way.

Started as its own process, it is interrupted (Ctrl-C, SIGTERM) or killed (kill -9) at a
moment chosen by what has happened, never by how long it has run: a slow machine only
makes a test take longer.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

WAIT_SECONDS = 90.0  # a bound on any wait, never a measurement


class RunningApply:
    """`campaignsync apply --auto-approve ARGS` in `cwd`, its output collected as it comes."""

    def __init__(self, cwd: Path, env: Mapping[str, str], *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "campaignsync", "apply", "--auto-approve", *args],
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Read all along, so that a full pipe never stalls the process being watched.
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._readers = [
            threading.Thread(target=_collect, args=(stream, into), daemon=True)
            for stream, into in (
                (self.process.stdout, self._stdout),
                (self.process.stderr, self._stderr),
            )
        ]
        for reader in self._readers:
            reader.start()

    def __enter__(self) -> RunningApply:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.running:  # a failed test leaves no apply behind
            self.kill()

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def stdout(self) -> str:
        return "".join(self._stdout)

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        """Poll until `condition` holds; fail if apply ends first, or after WAIT_SECONDS."""
        deadline = time.monotonic() + WAIT_SECONDS
        while not condition():
            if not self.running and not condition():
                ended = self.finish()
                raise AssertionError(
                    f"apply ended with {ended.returncode} before {what}:\n"
                    f"{ended.stdout}{ended.stderr}"
                )
            assert time.monotonic() < deadline, f"gave up waiting for {what}"
            time.sleep(0.05)

    def wait_for_line(self, start: str) -> None:
        """Wait until apply has printed a line beginning with `start`."""
        lines = self._stdout
        self.wait_until(
            lambda: any(line.startswith(start) for line in list(lines)), f"a line {start!r}"
        )

    def send(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill(self) -> None:
        """kill -9: no handler runs, nothing is flushed or saved on the way out."""
        self.process.kill()
        self.process.wait()

    def interrupt_until_it_ends(self, tries: int = 20) -> subprocess.CompletedProcess[str]:
        """Ctrl-C, again every second while it still runs: the second one ends any run."""
        for _ in range(tries):
            self.send(signal.SIGINT)
            try:
                self.process.wait(timeout=1)
                break
            except subprocess.TimeoutExpired:
                continue
        return self.finish()

    def finish(self, timeout: float = WAIT_SECONDS) -> subprocess.CompletedProcess[str]:
        """Wait for apply to end; its exit code and everything it printed."""
        returncode = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=timeout)
        return subprocess.CompletedProcess(
            self.process.args, returncode, "".join(self._stdout), "".join(self._stderr)
        )


def _collect(stream: IO[str] | None, into: list[str]) -> None:
    assert stream is not None
    for line in stream:
        into.append(line)
    stream.close()
