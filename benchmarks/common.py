"""Helpers shared by the benchmark scripts: timed child processes and a local emulator."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from campaignsync.emulator_process import emulator_process

WORKSPACE = "4e0c3a1b-8d2f-4f6e-9b1a-2c7d5e8f9a10"
PYTHON = sys.executable


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mib: float
    returncode: int


def run_process(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdout: Path | None = None,
) -> Run:
    """Run a whole process; wall time and its own peak resident memory (from wait4)."""
    start = time.perf_counter()
    sink = stdout.open("wb") if stdout else subprocess.DEVNULL
    child = subprocess.Popen(list(args), cwd=cwd, env=env, stdout=sink, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if stdout:
        sink.close()  # type: ignore[union-attr]
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 2):
        stderr = child.stderr.read().decode() if child.stderr else ""
        raise SystemExit(f"{' '.join(args)} failed ({child.returncode}): {stderr[-2000:]}")
    return Run(seconds, usage.ru_maxrss / 1024, child.returncode)


def paired_runs(
    floor: Sequence[str],
    measured: Sequence[str],
    runs: int,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[Run, Run]:
    """Medians of the floor and the measured command, run turn about.

    This machine's speed drifts by a quarter over minutes; alternating the two puts both
    through the same slow and fast spells, so their ratio holds where their times do not.
    """
    floors, results = [], []
    for _ in range(runs):
        floors.append(run_process(floor, cwd=cwd, env=env))
        results.append(run_process(measured, cwd=cwd, env=env))
    return _median(floors), _median(results)


def _median(results: Sequence[Run]) -> Run:
    return Run(
        statistics.median(r.seconds for r in results),
        max(r.peak_rss_mib for r in results),
        results[-1].returncode,
    )


def compiled_package() -> None:
    """Byte-compile campaignsync, as installing it from a wheel does. Run from this
    checkout with PYTHONDONTWRITEBYTECODE set (as on this project's machines), every
    process would otherwise compile every module again, which no installed copy does."""
    import compileall

    import campaignsync

    compileall.compile_dir(Path(campaignsync.__file__).parent, quiet=1)


def cli_env(api_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONTORA_", "CAMPAIGNSYNC_"))}
    env |= {
        "ONTORA_API_URL": api_url,
        "ONTORA_API_KEY": "benchmark-key",
        "ONTORA_WORKSPACE_ID": WORKSPACE,
        "NO_COLOR": "1",
    }
    return env | extra


def campaignsync(*args: str) -> list[str]:
    return [PYTHON, "-m", "campaignsync", *args]


# A `campaignsync emulator` process on a free loopback port; yields its URL.
emulator = emulator_process


def ratio_line(name: str, value: float, floor: float, target: float, unit: str = "s") -> str:
    ratio = value / floor
    verdict = "ok" if ratio <= target else "MISSED"
    return (
        f"{name:<44} {value:8.2f}{unit}  floor {floor:7.2f}{unit}  "
        f"ratio {ratio:5.2f}x  (target <= {target}x: {verdict})"
    )
