"""Time a whole `campaignsync apply` against bare httpx clients sending the same requests.

    python benchmarks/apply_throughput.py [--count 400] [--contacts 200] [--parallelism 8]
                                          [--latency-ms 100] [--runs 3] [--create] [--smoke]

The change applied (the default): N campaigns are created beforehand (untimed, no
latency), then every file gets a changed goal and one changed contact, so that each
campaign needs a finalize PUT, and `plan --out plan.json` saves the plan, as
the merge workflow applies it. Each run puts the state back as it was when the plan was
made and times, turn about:

- apply: `python -m campaignsync apply plan.json`, wall clock from spawn to exit, so
  start-up, reading the plan and the state, every state write and exit all count;
- bare httpx clients: the same requests, bodies encoded beforehand, one client per worker
  and the same parallelism (each campaign's requests in order), from this process.

With --create, the repository has no state instead: apply is `apply --auto-approve`, so
reading the files and planning count too, and each run starts from a freshly reset
emulator; the bare clients mint their Idempotency-Keys beforehand and put each create's
answered id into the finalize path.

The bare clients are what this machine and this emulator allow any client; apply must
take at most 1.15x their time, and send exactly the requests it planned. The emulator
answers after 100 ms by default: a hosted API's round trip and the time a finalize of
200 contacts takes there. At 20 ms (a service in the same room), the emulator's own work
on the two shared cores makes even the bare clients 1.5x the network floor, and the data
floor alone puts 1.15x out of reach of any apply at this size: run with --latency-ms 20
to see by how much. The ratio to the
network floor (requests x latency / parallelism) is reported beside it. So is the data
floor, a whole process run in every round, after the apply: the least any apply does
besides sending (start Python and import httpx, parse the saved plan, which holds the
bodies, and the state, or the campaign files with --create, and write the state once:
temporary file, fsync, rename), with the faster of two JSON libraries. The bare clients
plus that floor is the best any apply could take; where it is above 1.15x the bare
clients, no apply can meet the target at that size. Times are the best of the runs;
campaignsync is byte-compiled first, as installing it does. Exits non-zero when a target
is missed; --smoke (tiny sizes, where start-up is all there is) checks only that the
requests sent are the ones planned.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, Run, campaignsync, cli_env, compiled_package, emulator, run_process
from generate import generate

TARGET = 1.15  # apply's whole process against the bare clients
PLACEHOLDER = "{interview_id}"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# The data floor: SOURCE is the saved plan, or the campaigns folder with --create; the
# state read is parsed only where apply reads one (not with --create), and written once.
# JSON with the standard library or with pydantic-core (its reader and writer are about
# twice as fast, but importing it costs 40 ms): each round runs both and keeps the faster.
# YAML: only libyaml's parser events, which any reader built on libyaml pulls
# (campaignsync's own builds its values straight from them).
DATA_FLOOR = """
import os, pathlib, sys, httpx
source, state, out = map(pathlib.Path, sys.argv[1:4])
if sys.argv[4] == "pydantic-core":
    from pydantic_core import from_json as loads, to_json as dumps
else:
    import json
    loads, dumps = json.loads, lambda value: json.dumps(value, ensure_ascii=False).encode()
if source.is_dir():
    import yaml
    for path in sorted(source.rglob("*.yaml")):
        for _ in yaml.parse(path.read_bytes(), Loader=yaml.CSafeLoader):
            pass
    data = state.read_bytes()
else:
    loads(source.read_bytes())
    data = dumps(loads(state.read_bytes()))
with open(out.with_suffix(".tmp"), "wb") as file:
    file.write(data)
    file.flush()
    os.fsync(file.fileno())
os.replace(out.with_suffix(".tmp"), out)
"""


@dataclass(frozen=True)
class Prepared:
    """One request as the bare clients send it: encoded, its idempotency key minted."""

    method: str
    path: str
    body: bytes
    idempotency_key: str | None


def planned(root: Path, env: dict[str, str], *, keep: bool) -> list[list[dict[str, Any]]]:
    """The requests of each campaign, as `plan --out` (untimed) says apply will send them;
    the plan is kept as plan.json when apply is to run it."""
    run_process(campaignsync("plan", "--out", "plan.json"), cwd=root, env=env)
    plan = json.loads((root / "plan.json").read_text())
    if not keep:
        (root / "plan.json").unlink()
    return [campaign["requests"] for campaign in plan["campaigns"] if campaign["requests"]]


def changed_beforehand(root: Path, env: dict[str, str], paths: list[Path]) -> None:
    """Create every campaign (untimed, before any latency is set), then change each file's
    goal and one contact, so that each needs a finalize PUT."""
    run_process(campaignsync("apply", "--auto-approve", "--parallelism", "8"), cwd=root, env=env)
    for path in paths:
        text = path.read_text()
        text = text.replace("goal: Find the two", "goal: Find the three", 1)
        text = text.replace("    job_title: ", "    job_title: Senior ", 1)
        path.write_text(text)


def prepare(campaigns: list[list[dict[str, Any]]]) -> list[list[Prepared]]:
    return [
        [
            Prepared(
                request["method"],
                request["path"],
                json.dumps(request["body"], separators=(",", ":")).encode(),
                str(uuid.uuid4()) if request["creates"] else None,
            )
            for request in requests
        ]
        for requests in campaigns
    ]


def bare_clients_seconds(url: str, campaigns: list[list[Prepared]], parallelism: int) -> float:
    """Send every campaign's requests with nothing but httpx; the wall time they took."""
    headers = {"X-API-Key": "benchmark-key", "Content-Type": "application/json"}
    clients = [httpx.Client(base_url=url, headers=headers) for _ in range(parallelism)]

    def send(index: int) -> None:
        client = clients[index % parallelism]
        interview_id = ""
        for request in campaigns[index]:
            extra = {"Idempotency-Key": request.idempotency_key} if request.idempotency_key else {}
            path = request.path.replace(PLACEHOLDER, interview_id)
            response = client.request(request.method, path, content=request.body, headers=extra)
            response.raise_for_status()
            if request.idempotency_key:
                interview_id = response.json()["id"]

    started = time.perf_counter()
    with ThreadPoolExecutor(parallelism) as pool:
        list(pool.map(send, range(len(campaigns))))
    seconds = time.perf_counter() - started
    for client in clients:
        client.close()
    return seconds


@dataclass(frozen=True)
class Applied:
    """One whole apply, what its own timer says of its sending and recording, and the
    state writes it made."""

    run: Run
    phase: float
    writes: int
    state_mib: float


def apply_run(root: Path, env: dict[str, str], parallelism: int, *, create: bool) -> Applied:
    """One whole apply: of the saved plan, the state put back as the plan saw it; or, with
    `create`, `apply --auto-approve` into a repository with no state."""
    state = root / "campaignsync.state.json"
    for leftover in root.glob("campaignsync.state.json*"):
        leftover.unlink()
    if create:
        command = campaignsync("apply", "--auto-approve", "--parallelism", str(parallelism))
    else:
        shutil.copyfile(root / "before.json", state)
        command = campaignsync("apply", "plan.json", "--parallelism", str(parallelism))
    run = run_process(command, cwd=root, env=env, stdout=root / "apply.out")
    last = (root / "apply.out").read_text().splitlines()[-1]
    match = re.search(r" in ([0-9.]+)s\.$", last)
    if not match:
        raise SystemExit(f"apply did not report its time: {last!r}")
    writes = json.loads(state.read_text())["serial"] - (0 if create else _serial(root))
    return Applied(run, float(match.group(1)), writes, state.stat().st_size / 1_048_576)


def _serial(root: Path) -> int:
    return int(json.loads((root / "before.json").read_text())["serial"])


class Emulator:
    """The emulator's rehearsal endpoints this benchmark needs."""

    def __init__(self, url: str, latency_ms: int) -> None:
        self.http = httpx.Client(base_url=url, timeout=60)
        self.latency_ms = latency_ms
        self.logged = 0  # requests logged before the one being measured

    def reset(self, *, campaigns: bool) -> None:
        """The latency set again; with `campaigns`, no campaigns, keys or logged requests."""
        if campaigns:
            self.http.post("/_emulator/reset").raise_for_status()
        faults = {"latency_ms": self.latency_ms}
        self.http.put("/_emulator/faults", json=faults).raise_for_status()
        self.logged = len(self.http.get("/_emulator/requests").json())

    def received(self) -> Counter[tuple[str, str]]:
        """Every request received since the reset, by method and path."""
        log = self.http.get("/_emulator/requests").json()[self.logged :]
        return Counter((entry["method"], entry["path"]) for entry in log)


def data_floor_seconds(root: Path, *, create: bool) -> float:
    """The data floor once with each JSON library, on what apply reads and (as the last
    apply left it) writes; the faster."""
    source = root / "campaigns" if create else root / "plan.json"
    state = root / "campaignsync.state.json" if create else root / "before.json"
    command = [PYTHON, "-c", DATA_FLOOR, str(source), str(state), str(root / "floor.json")]
    return min(run_process([*command, json]).seconds for json in ("json", "pydantic-core"))


@dataclass
class Figures:
    applies: list[Applied]
    bare: list[float]
    sent: list[Counter[tuple[str, str]]]
    floors: list[float]


def measure(args: argparse.Namespace, root: Path, url: str) -> tuple[Figures, Counter[Any]]:
    env = cli_env(url)
    paths = generate(root / "campaigns", args.count, args.contacts)
    if not args.create:
        changed_beforehand(root, env, paths)
        shutil.copyfile(root / "campaignsync.state.json", root / "before.json")
    campaigns = planned(root, env, keep=not args.create)
    expected = Counter((r["method"], r["path"]) for requests in campaigns for r in requests)
    ontora = Emulator(url, args.latency_ms)
    figures = Figures([], [], [], [])

    def bare() -> None:
        ontora.reset(campaigns=args.create)
        figures.bare.append(bare_clients_seconds(url, prepare(campaigns), args.parallelism))

    def apply() -> None:
        ontora.reset(campaigns=args.create)
        figures.applies.append(apply_run(root, env, args.parallelism, create=args.create))
        sent = ontora.received()
        if args.create:  # each new campaign's id, where the plan has a placeholder
            sent = Counter((m, _UUID.sub(PLACEHOLDER, path)) for m, path in sent.elements())
        figures.sent.append(sent)

    def floor() -> None:  # after an apply: with --create, it writes the state that one wrote
        figures.floors.append(data_floor_seconds(root, create=args.create))

    for number in range(args.runs):
        # Bare and apply first by turns, the floor after them: all go through the same spells.
        order: list[Callable[[], None]] = [bare, apply] if number % 2 == 0 else [apply, bare]
        for step in [*order, floor]:
            step()
    return figures, expected


def table(args: argparse.Namespace, figures: Figures, expected: Counter[Any]) -> bool:
    """Print the figures as a Markdown table; whether every target was met."""
    best = min(figures.applies, key=lambda applied: applied.run.seconds)
    apply_best = best.run.seconds
    bare_best = min(figures.bare)
    requests = sum(expected.values())
    floor = requests * args.latency_ms / 1000 / args.parallelism
    ratio = apply_best / bare_best
    sent_ok = all(sent == expected for sent in figures.sent)
    speed_ok = ratio <= TARGET or args.smoke
    verdict = "PASS" if ratio <= TARGET else ("not checked (--smoke)" if args.smoke else "FAIL")
    sent = ", ".join(str(sum(s.values())) for s in figures.sent)
    what = "new campaigns, `apply --auto-approve`" if args.create else "changes, `apply plan.json`"
    print(
        f"{what}: {args.count} campaigns, {args.contacts} contacts each; "
        f"parallelism {args.parallelism}, "
        f"latency {args.latency_ms} ms; {requests} requests planned; best of {args.runs} run(s)\n"
    )
    print("| measurement | time | baseline | ratio | target | result |")
    print("|---|---|---|---|---|---|")
    print(
        f"| apply, whole process | {apply_best:.2f} s | {bare_best:.2f} s (bare httpx clients) "
        f"| {ratio:.2f}x | <= {TARGET}x | {verdict} |"
    )
    print(
        f"| apply, whole process | {apply_best:.2f} s | {floor:.2f} s (network floor) "
        f"| {apply_best / floor:.2f}x | reported | |"
    )
    print(
        f"| of which sending and recording (apply's own timer) | {best.phase:.2f} s "
        f"| {bare_best:.2f} s (bare httpx clients) | {best.phase / bare_best:.2f}x | reported | |"
    )
    print(
        f"| bare httpx clients | {bare_best:.2f} s | {floor:.2f} s (network floor) "
        f"| {bare_best / floor:.2f}x | reported | |"
    )
    for row in _data_floor_rows(args, min(figures.floors), apply_best, bare_best):
        print(row)
    print(
        f"| requests sent by apply | {sent} | {requests} planned | | equal | "
        f"{'PASS' if sent_ok else 'FAIL'} |"
    )
    _print_runs(figures, best)
    return sent_ok and speed_ok


def _data_floor_rows(
    args: argparse.Namespace, data: float, apply_best: float, bare_best: float
) -> list[str]:
    """The data floor's rows: itself, the best any apply could take, and apply against it."""
    best_possible = (bare_best + data) / bare_best
    read = "the files" if args.create else "the plan and the state"
    return [
        f"| data floor: start, read {read}, write the state once | {data:.2f} s "
        f"| {bare_best:.2f} s (bare httpx clients) | {data / bare_best:.2f}x | reported | |",
        f"| best any apply could take: bare clients + data floor | {bare_best + data:.2f} s "
        f"| {bare_best:.2f} s (bare httpx clients) | {best_possible:.2f}x | reported | "
        f"{'out of reach at this size' if best_possible > TARGET else ''} |",
        f"| apply against that best | {apply_best:.2f} s | {bare_best + data:.2f} s "
        f"| {apply_best / (bare_best + data):.2f}x | reported | |",
    ]


def _print_runs(figures: Figures, best: Applied) -> None:
    runs = ", ".join(
        f"{applied.run.seconds:.2f}/{seconds:.2f}"
        for applied, seconds in zip(figures.applies, figures.bare, strict=True)
    )
    peak = max(applied.run.peak_rss_mib for applied in figures.applies)
    print(f"\napply/bare seconds by run: {runs}; peak RSS of apply: {peak:.0f} MiB")
    print(
        f"the best apply wrote state {best.writes} times, ending at {best.state_mib:.1f} MiB; "
        f"start-up, reading and planning took {best.run.seconds - best.phase:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--create", action="store_true", help="apply new campaigns, planning included"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="check only that the requests sent are the planned"
    )
    args = parser.parse_args()
    compiled_package()
    with tempfile.TemporaryDirectory(prefix="campaignsync-apply-") as folder, emulator() as url:
        figures, expected = measure(args, Path(folder), url)
    if not table(args, figures, expected):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
