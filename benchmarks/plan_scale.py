"""Time `campaignsync plan` on N campaigns against the floor of parsing them with libyaml.

    python benchmarks/plan_scale.py [--count 1000] [--runs 3] [--memory 250,500,1000]

(a) no state, so every campaign is created; (b) after an apply to the emulator, so
nothing changes. The floor is a process that parses the same files with PyYAML's
libyaml C loader and does nothing else, measured in the same run. Prints the median
wall time of each, their ratios to the floor, and peak resident memory of plan for
several N (it must grow no worse than linearly).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    PYTHON,
    campaignsync,
    cli_env,
    compiled_package,
    emulator,
    paired_runs,
    ratio_line,
    run_process,
)
from generate import generate

FLOOR = """
import pathlib, sys, yaml
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml")):
    yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory", default="250,500,1000", help="N values for peak memory")
    args = parser.parse_args()
    compiled_package()

    with tempfile.TemporaryDirectory(prefix="campaignsync-bench-") as folder:
        root = Path(folder)
        generate(root / "campaigns", args.count, args.contacts)
        size = sum(p.stat().st_size for p in (root / "campaigns").rglob("*.yaml"))
        print(f"{args.count} campaigns, {args.contacts} contacts each, {size / 1_048_576:.1f} MiB")

        parse = [PYTHON, "-c", FLOOR, str(root / "campaigns")]
        with emulator() as url:
            env = cli_env(url)
            floor, everything = paired_runs(
                parse, campaignsync("plan"), args.runs, cwd=root, env=env
            )
            applied = run_process(
                campaignsync("apply", "--auto-approve", "--parallelism", "8"), cwd=root, env=env
            )
            print(f"apply of all {args.count} to the emulator: {applied.seconds:.1f}s")
            floor_again, nothing = paired_runs(
                parse, campaignsync("plan", "--detailed-exitcode"), args.runs, cwd=root, env=env
            )
            if nothing.returncode != 0:
                raise SystemExit("plan after apply is not empty")

        print(
            f"floor (libyaml C loader, same files, run turn about with each plan): "
            f"{floor.seconds:.2f}s and {floor_again.seconds:.2f}s"
        )
        print(ratio_line("plan, everything changed", everything.seconds, floor.seconds, 1.5))
        print(ratio_line("plan, nothing changed", nothing.seconds, floor_again.seconds, 0.25))
        print(
            f"peak RSS: plan everything {everything.peak_rss_mib:.0f} MiB, "
            f"nothing {nothing.peak_rss_mib:.0f} MiB, floor {floor.peak_rss_mib:.0f} MiB"
        )

    print_memory_by_count([int(n) for n in args.memory.split(",") if n], args.contacts)


def print_memory_by_count(counts: list[int], contacts: int) -> None:
    """Peak RSS of plan (everything changed) for each number of campaigns."""
    if counts:
        print("peak RSS of plan (everything changed) by N:")
    for count in counts:
        with tempfile.TemporaryDirectory(prefix="campaignsync-mem-") as folder:
            root = Path(folder)
            generate(root / "campaigns", count, contacts)
            run = run_process(campaignsync("plan"), cwd=root, env=cli_env("https://api.ontora.com"))
            per = run.peak_rss_mib / count
            print(f"  N={count:>5}: {run.peak_rss_mib:7.0f} MiB  ({per:.2f} MiB per campaign)")


if __name__ == "__main__":
    main()
