"""`apply`: make Ontora match the campaign files, recording each success in state."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from pydantic import ValidationError

from campaignsync.apply import (
    ApplyReport,
    Halt,
    Outcome,
    apply_plan,
    check_plan_is_current,
    remotely_changed,
)
from campaignsync.commands.wiring import (
    FilePath,
    configured_store,
    fetch_remote,
    lock_timeout_option,
    make_client,
    make_plan,
    max_retries_option,
    read_configured_state,
    require_workspace,
    targets_option,
    with_settings,
)
from campaignsync.config import Settings
from campaignsync.errors import CampaignsyncError, ConfigError, StalePlan
from campaignsync.ontora import OntoraClient, prepare_tls
from campaignsync.plan import PLAN_FORMAT_VERSION, Plan, saved_json
from campaignsync.recorder import StateRecorder
from campaignsync.render import render_text
from campaignsync.state import MAX_STATE_BYTES, State
from campaignsync.terminal import echo, use_colour
from campaignsync.textfile import NotReadable, read_regular_file

INTERRUPTED = 130  # the shell's code for a process stopped by SIGINT, as for any command


@click.command()
@with_settings
@click.argument("planfile", required=False, type=FilePath())
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@targets_option("Without PLANFILE: apply only campaigns whose key matches (glob); repeatable.")
@click.option(
    "--parallelism",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Campaigns applied at once; the requests of one campaign always run in order.",
)
@click.option(
    "--allow-remote-changes",
    is_flag=True,
    help="Apply a --refresh plan even to campaigns edited in Ontora since it was made.",
)
@click.option(
    "--allow-launch",
    is_flag=True,
    help="Without PLANFILE: allow launching campaigns (Ontora starts contacting people).",
)
@click.option("--no-launch", is_flag=True, help="Apply everything but launches, left for later.")
@max_retries_option
@lock_timeout_option
def apply(
    settings: Settings,
    planfile: Path | None,
    auto_approve: bool,
    targets: tuple[str, ...],
    parallelism: int,
    allow_remote_changes: bool,
    allow_launch: bool,
    no_launch: bool,
    max_retries: int,
    lock_timeout: float,
) -> int:
    """Make Ontora match the campaign files, and record each success in state.

    With PLANFILE (from `plan --out`), run exactly that plan, refusing it if state moved
    since, and (for a --refresh plan) skipping campaigns edited in Ontora since. Without
    it, plan, show the plan and ask before applying; a launch then needs --allow-launch.
    """
    if planfile is not None and targets:
        raise ConfigError("--target goes with planning; a saved plan already has its targets.")
    prepare_tls()  # in the background, while the saved plan is read
    with _long_lived():
        saved = read_plan_file(planfile, settings.environment) if planfile is not None else None
    halt = Halt(abandon=_exit_at_once)
    with (
        make_client(settings, max_retries, stop=halt.no_new_requests) as client,
        configured_store(settings) as store,
        store.lock(timeout=lock_timeout),
    ):
        with _long_lived():
            current = read_configured_state(settings, store)
            store.check_writable()
            the_plan, edited_remotely = _to_apply(
                settings, saved, current, client, targets, allow_remote_changes, no_launch
            )
        if not the_plan.has_changes and not edited_remotely:
            echo("Nothing to apply.")
            return 0
        if the_plan.warnings:
            raise ConfigError(" ".join(the_plan.warnings))
        if planfile is None:
            _approve(the_plan, auto_approve, allow_launch)
        workspace_id = the_plan.workspace_id or current.workspace_id
        recorder = StateRecorder(
            settings.state_path,
            current.model_copy(update={"api_url": settings.api_url, "workspace_id": workspace_id}),
            write=lambda _path, state, encoder: store.write(state, encoder),
        )
        report = _apply_stoppably(the_plan, client, recorder, parallelism, halt)
    return _outcome(report, halt, edited_remotely)


def _to_apply(
    settings: Settings,
    saved: Plan | None,
    current: State,
    client: OntoraClient,
    targets: tuple[str, ...],
    allow_remote_changes: bool,
    no_launch: bool,
) -> tuple[Plan, list[str]]:
    """The saved plan, checked, or a plan made now and shown; and the keys of campaigns left
    out as edited in Ontora since."""
    if saved is not None:
        return _checked_saved_plan(
            settings, saved, current, client, allow_remote_changes, no_launch
        )
    return _shown(settings, targets, current, no_launch), []


@contextlib.contextmanager
def _long_lived() -> Iterator[None]:
    """No cycle collection while the plan and state are read or made: each would look again
    through all that was read so far, none of it garbage. It lives until the process ends,
    so later collections leave it out too."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _outcome(report: ApplyReport, halt: Halt, edited_remotely: list[str]) -> int:
    """Print the report; the exit code, or StalePlan for campaigns skipped as edited remotely."""
    _print_report(report)
    if halt.no_new_requests.is_set():
        return INTERRUPTED  # stopped by Ctrl-C or SIGTERM, after saving what succeeded
    if edited_remotely:
        raise StalePlan(
            f"Skipped {', '.join(edited_remotely)}: edited in Ontora since the plan was made "
            "(updated_at moved), and applying would overwrite that. Run `campaignsync plan "
            "--refresh` to see the edits and review again, or pass --allow-remote-changes."
        )
    return 0 if report.ok else 1


def _checked_saved_plan(
    settings: Settings,
    saved: Plan,
    current: State,
    client: OntoraClient,
    allow_remote_changes: bool,
    no_launch: bool,
) -> tuple[Plan, list[str]]:
    """A saved plan refused if state moved since, less (for a --refresh plan) the campaigns
    edited in Ontora since it was made, and the keys of those; less its launches for
    --no-launch."""
    check_plan_is_current(
        saved, current, api_url=settings.api_url, workspace_id=settings.workspace_id
    )
    saved = _held_back(saved, no_launch, saved=True)
    if not saved.refreshed or allow_remote_changes:
        return saved, []
    workspace = require_workspace(settings, current, "Checking for remote edits")
    edited_remotely = remotely_changed(saved, fetch_remote(client, workspace))
    return saved.without(edited_remotely), edited_remotely


def _apply_stoppably(
    the_plan: Plan, client: OntoraClient, recorder: StateRecorder, parallelism: int, halt: Halt
) -> ApplyReport:
    """Apply the plan with Ctrl-C, and a CI job being cancelled (SIGTERM), stopping it cleanly."""
    stop = functools.partial(_stop, halt)
    previous = {number: signal.signal(number, stop) for number in _STOP_SIGNALS}
    try:
        return apply_plan(
            the_plan,
            client=client,
            recorder=recorder,
            parallelism=parallelism,
            progress=echo,
            halt=halt,
        )
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _held_back(the_plan: Plan, no_launch: bool, *, saved: bool) -> Plan:
    """The plan without its launches for --no-launch; a saved one, not shown, says so here."""
    if not no_launch or not the_plan.launches:
        return the_plan
    if saved:
        echo(f"Not launching (--no-launch): {', '.join(the_plan.launches)}.")
    return the_plan.without_launches()


def _shown(settings: Settings, targets: tuple[str, ...], current: State, no_launch: bool) -> Plan:
    """A plan made now, shown: without its launches for --no-launch."""
    the_plan = _held_back(make_plan(settings, targets, current), no_launch, saved=False)
    colour = use_colour(sys.stdout)
    echo(render_text(the_plan, colour=colour), nl=False, colour=colour)
    return the_plan


def _approve(the_plan: Plan, auto_approve: bool, allow_launch: bool) -> None:
    """Approval of a plan no one reviewed: a yes typed (or --auto-approve), and for a
    launch, which contacts real people, --allow-launch as well."""
    if the_plan.launches and not allow_launch:
        raise ConfigError(
            f"This apply would launch {', '.join(the_plan.launches)}, and Ontora would start "
            f"contacting {the_plan.people_contacted} people; a typed yes is not enough for "
            "that, and nothing was sent. Review a saved plan (`campaignsync plan --out "
            "plan.json`, then `campaignsync apply plan.json`), or pass --allow-launch; "
            "--no-launch applies everything else."
        )
    if not auto_approve:
        _confirm()


def _print_report(report: ApplyReport) -> None:
    applied = report.keys(Outcome.APPLIED)
    if report.ok:
        echo(
            f"Apply complete: {len(applied)} campaign(s) applied with "
            f"{report.requests_sent} request(s) in {report.seconds:.1f}s."
        )
        return
    echo("")
    for result in report.results:
        if result.error:
            word = "Refused" if result.outcome is Outcome.REFUSED else "Failed"
            echo(f"{word}: {result.error}", err=True)
    left = report.keys(Outcome.NOT_ATTEMPTED) + report.keys(Outcome.INTERRUPTED)
    refused = report.keys(Outcome.REFUSED)
    echo(
        f"Apply stopped: {len(applied)} applied, {len(report.keys(Outcome.FAILED))} failed, "
        + (f"{len(refused)} refused by Ontora ({', '.join(refused)}), " if refused else "")
        + f"{len(report.keys(Outcome.INTERRUPTED))} interrupted, "
        f"{len(report.keys(Outcome.NOT_ATTEMPTED))} not attempted."
        + (f" Not finished: {', '.join(left)}." if left else "")
        + " State holds every request that succeeded; run `campaignsync plan` to see what is left.",
        err=True,
    )


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stop(halt: Halt, signum: int, frame: object) -> None:
    """The first Ctrl-C (or SIGTERM) stops new requests and ends retry waits; the second
    ends the process at once."""
    if halt.no_new_requests.is_set():
        halt.abandon()
    halt.no_new_campaigns.set()
    halt.no_new_requests.set()


def _exit_at_once() -> None:
    """A second interrupt: stop now, without waiting for requests still on the wire.

    Every state write is atomic, and each field a request sends is marked unconfirmed
    before it is sent, so the next plan sends again whatever may have changed."""
    echo(
        "Stopped at once: requests under way were abandoned. State is whole; run "
        "`campaignsync plan` to see what is left.",
        err=True,
    )
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(INTERRUPTED)


def _confirm() -> None:
    if not sys.stdin.isatty():
        raise ConfigError(
            "apply asks for confirmation, but there is no terminal to ask on. Review the plan "
            "and pass --auto-approve, or apply a saved plan file (`plan --out FILE`)."
        )
    # Read plainly, not with click.prompt, which turns Ctrl-C into a generic abort (exit 1):
    # Ctrl-C here is an interrupt like anywhere else (exit 130), and nothing was sent.
    echo("Apply these changes to Ontora? Only 'yes' will be accepted: ", nl=False)
    answer = sys.stdin.readline()
    if answer.strip() != "yes":
        raise CampaignsyncError("Apply cancelled; nothing was sent.")


def read_plan_file(path: Path, environment: str | None) -> Plan:
    """A saved plan, checked to be one of ours, unchanged since it was written, and made
    for `environment`."""
    try:
        # Never a plain read: a FIFO or a link to /dev/zero would block or read forever.
        text = read_regular_file(path, what="a saved plan", limit=MAX_STATE_BYTES)
    except NotReadable as exc:
        raise ConfigError(f"The plan file {path} {exc.reason}.") from None
    try:
        the_plan = Plan.from_saved(text)
    except ValidationError as exc:
        raise ConfigError(_why_not_a_plan(path, text, exc)) from exc
    except ValueError as exc:
        raise ConfigError(
            f"The plan file {path} is not a readable JSON plan: {exc}. {_MAKE_ANOTHER}"
        ) from exc
    check_plan_environment(the_plan, environment)
    return the_plan


def check_plan_environment(plan: Plan, environment: str | None) -> None:
    """Refuse a saved plan made for another environment (or for one, when none is chosen)."""
    if plan.environment == environment:
        return
    if plan.environment is None:
        raise StalePlan(
            f"The plan was made for no environment, not {environment}. Make one for it with "
            f"`campaignsync plan --env {environment} --out FILE`, review it, and apply that."
        )
    if environment is None:
        raise StalePlan(
            f"The plan was made for environment {plan.environment}, but no environment is "
            f"chosen here. Apply it with --env {plan.environment} where campaignsync.yaml "
            "declares it."
        )
    raise StalePlan(
        f"The plan was made for environment {plan.environment}, not {environment}. Apply it "
        f"with --env {plan.environment}, or make a plan for {environment} with `campaignsync "
        f"plan --env {environment} --out FILE`, review it, and apply that."
    )


_MAKE_ANOTHER = "Make a new one with `campaignsync plan --out FILE`."


def _why_not_a_plan(path: Path, text: bytes, error: ValidationError) -> str:
    document = saved_json(text)  # read as JSON once already, so it reads again
    if not isinstance(document, dict) or document.get("format_version") != PLAN_FORMAT_VERSION:
        return (
            f"The plan file {path} is not a campaignsync plan of format_version "
            f"{PLAN_FORMAT_VERSION}. {_MAKE_ANOTHER}"
        )
    return f"The plan file {path} is damaged: {error.errors()[0]['msg']}. {_MAKE_ANOTHER}"
