"""Time `campaignsync --help` against `python -c "import click"`, as whole processes.

python benchmarks/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, campaignsync, compiled_package, paired_runs, ratio_line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    compiled_package()
    floor, help_run = paired_runs([PYTHON, "-c", "import click"], campaignsync("--help"), args.runs)
    print(ratio_line("campaignsync --help", help_run.seconds, floor.seconds, 1.5))


if __name__ == "__main__":
    main()
