"""Running the emulator: served by uvicorn, or as a child process for tests and benchmarks."""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from campaignsync.emulator import create_app
from campaignsync.emulator_faults import QuietDrops
from campaignsync.emulator_state import EmulatorConfig


def serve(config: EmulatorConfig, *, host: str = "127.0.0.1", port: int = 8787) -> None:
    """Serve the emulator until interrupted."""
    import uvicorn

    logging.getLogger("uvicorn.error").addFilter(QuietDrops())
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")


@contextlib.contextmanager
def emulator_process(*options: str, timeout: float = 30.0) -> Iterator[str]:
    """`campaignsync emulator` as a child process on a free loopback port; yields its URL.

    For tests, benchmarks and scripted rehearsals: returns once the emulator answers, and
    stops it on exit.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "campaignsync", "emulator", "--port", str(port), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"{url}/_emulator/faults", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the emulator did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
