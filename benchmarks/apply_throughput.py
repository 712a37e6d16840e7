"""Apply N changed campaigns through the emulator with 20 ms latency, against the network floor.

    python benchmarks/apply_throughput.py [--count 400] [--parallelism 8] [--latency-ms 20]

The campaigns are created first (untimed, no latency). Then every file gets a
changed goal and one changed contact, so each campaign needs a finalize PUT, the
emulator's latency is turned on, and `campaignsync apply PLANFILE` is timed as a whole
process. The floor is requests x latency / parallelism: what the network alone costs.
It also checks that the requests the emulator received are exactly the ones planned.

A second floor is measured in the same run: the same requests, bodies encoded
beforehand, sent again by bare httpx clients (one per worker) to the same emulator.
That is what the emulator and this machine allow any client, so apply's own overhead
is its time over that.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import campaignsync, cli_env, emulator, ratio_line, run_process
from generate import generate


def apply_phase_seconds(output: Path) -> float:
    """The time apply itself reports, from its first request to its last state write."""
    last = output.read_text().splitlines()[-1]
    match = re.search(r" in ([0-9.]+)s\.$", last)
    if not match:
        raise SystemExit(f"apply did not report its time: {last!r}")
    return float(match.group(1))


def bare_client_seconds(url: str, plan: dict[str, Any], parallelism: int) -> float:
    """Send the plan's requests again with nothing but httpx: the emulator's own floor."""
    requests = [
        (request["method"], request["path"], json.dumps(request["body"]).encode())
        for campaign in plan["campaigns"]
        for request in campaign["requests"]
    ]
    headers = {"X-API-Key": "benchmark-key", "Content-Type": "application/json"}
    clients = [httpx.Client(base_url=url, headers=headers) for _ in range(parallelism)]

    def send(index: int) -> None:
        method, path, body = requests[index]
        clients[index % parallelism].request(method, path, content=body).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(parallelism) as pool:
        list(pool.map(send, range(len(requests))))
    seconds = time.perf_counter() - started
    for client in clients:
        client.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="campaignsync-apply-") as folder, emulator() as url:
        root = Path(folder)
        paths = generate(root / "campaigns", args.count, args.contacts)
        env = cli_env(url)
        run_process(
            campaignsync("apply", "--auto-approve", "--parallelism", "8"), cwd=root, env=env
        )

        for path in paths:
            text = path.read_text()
            text = text.replace("goal: Find the two", "goal: Find the three", 1)
            text = text.replace("    job_title: ", "    job_title: Senior ", 1)
            path.write_text(text)
        run_process(campaignsync("plan", "--out", "plan.json"), cwd=root, env=env)
        plan = json.loads((root / "plan.json").read_text())
        planned = [
            (request["method"], request["path"])
            for campaign in plan["campaigns"]
            for request in campaign["requests"]
        ]

        control = httpx.Client(base_url=url)
        control.put("/_emulator/faults", json={"latency_ms": args.latency_ms}).raise_for_status()
        before = len(control.get("/_emulator/requests").json())
        applied = run_process(
            campaignsync("apply", "plan.json", "--parallelism", str(args.parallelism)),
            cwd=root,
            env=env,
            stdout=root / "apply.out",
        )
        phase = apply_phase_seconds(root / "apply.out")
        log = control.get("/_emulator/requests").json()[before:]
        sent = [(entry["method"], entry["path"]) for entry in log]
        del log
        bare = bare_client_seconds(url, plan, args.parallelism)

    floor = len(planned) * args.latency_ms / 1000 / args.parallelism
    print(
        f"{args.count} campaigns, {args.contacts} contacts each; {len(planned)} requests "
        f"planned, {len(sent)} sent; latency {args.latency_ms} ms, parallelism "
        f"{args.parallelism}"
    )
    print(ratio_line("apply (whole process)", applied.seconds, floor, 1.3))
    print(f"  of which sending and recording the requests: {phase:.2f}s ({phase / floor:.2f}x)")
    print(
        f"the same requests from bare httpx clients: {bare:.2f}s ({bare / floor:.2f}x the "
        f"network floor); apply's sending and recording is {phase / bare:.2f}x that"
    )
    print(f"peak RSS of apply: {applied.peak_rss_mib:.0f} MiB")
    if sorted(sent) != sorted(planned):
        raise SystemExit("MISMATCH: the requests sent are not the requests planned")
    print("requests sent = requests planned: yes")


if __name__ == "__main__":
    main()
