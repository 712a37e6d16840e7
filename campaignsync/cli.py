"""The `campaignsync` command: parse options, wire the pieces, render, map errors to exits."""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from pydantic import ValidationError

from campaignsync import __version__
from campaignsync.config import Settings, check_api_url, resolve_settings
from campaignsync.errors import (
    CampaignsyncError,
    ConfigError,
    Problem,
    StateError,
    ValidationFailed,
)
from campaignsync.loader import load_campaigns
from campaignsync.plan import (
    PLAN_FORMAT_VERSION,
    Plan,
    build_plan,
    content_digest,
    plan_json_schema,
)
from campaignsync.render import MARKDOWN_BUDGET, render_json, render_markdown, render_text
from campaignsync.spec import campaign_json_schema
from campaignsync.state import (
    Entry,
    State,
    atomic_write,
    read_state,
    state_json_schema,
    state_lock,
    write_state,
)

F = TypeVar("F", bound=Callable[..., Any])


class _Cli(click.Group):
    """A group whose every failure is a message and a fixed exit code, never a traceback."""

    def main(self, *args: Any, **kwargs: Any) -> NoReturn:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.Abort:
            _fail("Aborted.")
        except click.ClickException as exc:
            # Usage errors exit 1, not click's 2: exit code 2 means "changes pending".
            exc.show()
            sys.exit(1)
        except ValidationFailed as exc:
            _print_problems(exc.problems, "text")
            sys.exit(exc.exit_code)
        except CampaignsyncError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("Interrupted.", 130)
        except Exception as exc:
            if os.environ.get("CAMPAIGNSYNC_DEBUG"):
                traceback.print_exc()
            _fail(
                f"internal error: {type(exc).__name__}: {exc}. This is a bug in campaignsync; "
                "please report it (set CAMPAIGNSYNC_DEBUG=1 to see where it happened)."
            )
        sys.exit(result if isinstance(result, int) else 0)


def _fail(message: str, code: int = 1) -> NoReturn:
    click.secho(f"Error: {_scrub(message)}", fg="red", err=True, color=use_colour(sys.stderr))
    sys.exit(code)


def _scrub(text: str) -> str:
    for variable in ("ONTORA_API_TOKEN", "ONTORA_API_KEY"):
        secret = os.environ.get(variable)
        if secret:
            text = text.replace(secret, "***")
    return text


def use_colour(stream: Any) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def _settings_options(command: F) -> F:
    options = [
        click.option(
            "--dir", "dir_", metavar="DIR", help="Campaigns folder [env CAMPAIGNSYNC_DIR]."
        ),
        click.option("--state", metavar="FILE", help="State file [env CAMPAIGNSYNC_STATE]."),
        click.option("--api-url", metavar="URL", help="Ontora API base URL [env ONTORA_API_URL]."),
        click.option(
            "--workspace-id", metavar="UUID", help="Ontora workspace [env ONTORA_WORKSPACE_ID]."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _settings(
    dir_: str | None, state: str | None, api_url: str | None, workspace_id: str | None
) -> Settings:
    return resolve_settings(
        {"dir": dir_, "state": state, "api_url": api_url, "workspace_id": workspace_id}
    )


def _lock_timeout_option(command: F) -> F:
    return click.option(
        "--lock-timeout",
        type=click.FloatRange(min=0),
        default=0,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait for another campaignsync to release the state lock.",
    )(command)


_SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "campaign": campaign_json_schema,
    "state": state_json_schema,
    "plan": plan_json_schema,
}


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="campaignsync")
def cli() -> None:
    """Ontora interview campaigns as code: validate, plan and apply YAML campaigns."""


@cli.command()
@_settings_options
@click.option(
    "--format",
    "format_",
    type=click.Choice(["text", "github", "json"]),
    default="text",
    show_default=True,
    help="text: path:line:column lines; github: Actions annotations; json: a list.",
)
def validate(
    dir_: str | None,
    state: str | None,
    api_url: str | None,
    workspace_id: str | None,
    format_: str,
) -> int:
    """Check every campaign file offline; exit 1 if any is invalid."""
    settings = _settings(dir_, state, api_url, workspace_id)
    try:
        campaigns = load_campaigns(settings.campaigns_dir, settings.repository_root)
    except ValidationFailed as exc:
        _print_problems(exc.problems, format_)
        return 1
    if format_ == "json":
        click.echo("[]")
    elif format_ == "text":
        click.echo(f"All {len(campaigns)} campaign file(s) are valid.")
    return 0


def _print_problems(problems: Sequence[Problem], format_: str) -> None:
    if format_ == "json":
        document = [
            {"path": p.path, "line": p.line, "column": p.column, "message": p.message}
            for p in problems
        ]
        click.echo(json.dumps(document, indent=2))
        return
    if format_ == "github":
        for problem in problems:
            click.echo(_github_annotation(problem))
        return
    for problem in problems:
        click.echo(str(problem))
    files = len({problem.path for problem in problems})
    click.echo(f"{len(problems)} problem(s) in {files} file(s).")


def _github_annotation(problem: Problem) -> str:
    properties = [f"file={_escape_property(problem.path)}"]
    if problem.line is not None:
        properties.append(f"line={problem.line}")
    if problem.column is not None:
        properties.append(f"col={problem.column}")
    return f"::error {','.join(properties)}::{_escape_data(problem.message)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


@cli.command()
@click.argument("kind", type=click.Choice(sorted(_SCHEMAS)), default="campaign")
def schema(kind: str) -> None:
    """Print the JSON Schema of a campaign file, the state file or a saved plan."""
    click.echo(json.dumps(_SCHEMAS[kind](), indent=2))


@cli.command()
@_settings_options
@click.option(
    "--format",
    "format_",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for a terminal, json for machines, markdown for a pull-request comment.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the JSON plan for `campaignsync apply FILE`. It holds contact data "
    "(names, emails, phones): keep it out of git and share it like a secret.",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="KEY",
    help="Plan only campaigns whose key matches (glob, e.g. 'hr/*'); repeatable.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to do, 2 when there are changes, 1 on error.",
)
@click.option(
    "--max-chars",
    type=click.IntRange(min=2_000),
    default=MARKDOWN_BUDGET,
    show_default=True,
    help="Longest Markdown output; whole sections past it are left out.",
)
@click.option(
    "--show-sensitive", is_flag=True, help="Show contact names, emails and phones in Markdown."
)
def plan(
    dir_: str | None,
    state: str | None,
    api_url: str | None,
    workspace_id: str | None,
    format_: str,
    out: Path | None,
    targets: tuple[str, ...],
    detailed_exitcode: bool,
    max_chars: int,
    show_sensitive: bool,
) -> int:
    """Show what apply would change on Ontora; never changes anything itself.

    A saved plan (--out) contains contact data: keep it out of git.
    """
    settings = _settings(dir_, state, api_url, workspace_id)
    the_plan = _make_plan(settings, targets)
    if format_ == "json":
        click.echo(render_json(the_plan), nl=False)
    elif format_ == "markdown":
        output = render_markdown(the_plan, max_chars=max_chars, show_sensitive=show_sensitive)
        click.echo(output, nl=False)
    else:
        click.echo(render_text(the_plan, colour=use_colour(sys.stdout)), nl=False)
    if out is not None:
        atomic_write(out, render_json(the_plan).encode(), mode=0o600)
        click.echo(
            f"Saved the plan to {out}; run `campaignsync apply {out}` to apply it.", err=True
        )
    if detailed_exitcode and the_plan.has_changes:
        return 2
    return 0


def _make_plan(settings: Settings, targets: Sequence[str], current: State | None = None) -> Plan:
    campaigns = load_campaigns(settings.campaigns_dir, settings.repository_root)
    current = current or _read_configured_state(settings)
    the_plan = build_plan(
        campaigns,
        current,
        api_url=settings.api_url,
        workspace_id=settings.workspace_id or current.workspace_id,
        targets=targets,
    )
    if targets and not the_plan.campaigns:
        raise ConfigError(
            f"No campaign key matches --target {' '.join(targets)}. Keys are paths under the "
            "campaigns folder without extension, like hr/onboarding."
        )
    return the_plan


@cli.command()
@_settings_options
@click.argument("planfile", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="KEY",
    help="Without PLANFILE: apply only campaigns whose key matches (glob); repeatable.",
)
@click.option(
    "--parallelism",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Campaigns applied at once; the requests of one campaign always run in order.",
)
@click.option(
    "--max-retries",
    type=click.IntRange(0, 20),
    default=5,
    show_default=True,
    help="Retries of a request after 429, 5xx, a timeout or a dropped connection.",
)
@_lock_timeout_option
def apply(
    dir_: str | None,
    state: str | None,
    api_url: str | None,
    workspace_id: str | None,
    planfile: Path | None,
    auto_approve: bool,
    targets: tuple[str, ...],
    parallelism: int,
    max_retries: int,
    lock_timeout: float,
) -> int:
    """Make Ontora match the campaign files, and record each success in state.

    With PLANFILE (from `plan --out`), run exactly that plan, refusing it if state moved
    since. Without it, plan, show the plan and ask before applying.
    """
    settings = _settings(dir_, state, api_url, workspace_id)
    if planfile is not None and targets:
        raise ConfigError("--target goes with planning; a saved plan already has its targets.")
    from campaignsync.apply import (
        Outcome,
        StateRecorder,
        apply_plan,
        check_plan_is_current,
    )
    from campaignsync.ontora import OntoraClient

    with (
        OntoraClient(
            settings.api_url,
            token=settings.token,
            api_key=settings.api_key,
            max_retries=max_retries,
        ) as client,
        state_lock(settings.state_path, timeout=lock_timeout),
    ):
        current = _read_configured_state(settings)
        if planfile is not None:
            the_plan = _read_plan_file(planfile)
            check_plan_is_current(
                the_plan, current, api_url=settings.api_url, workspace_id=settings.workspace_id
            )
        else:
            the_plan = _make_plan(settings, targets, current)
            click.echo(render_text(the_plan, colour=use_colour(sys.stdout)), nl=False)
        if not the_plan.has_changes:
            click.echo("Nothing to apply.")
            return 0
        if the_plan.warnings:
            raise ConfigError(" ".join(the_plan.warnings))
        if planfile is None and not auto_approve:
            _confirm()
        workspace = the_plan.workspace_id or current.workspace_id
        recorder = StateRecorder(
            settings.state_path,
            current.model_copy(update={"api_url": settings.api_url, "workspace_id": workspace}),
        )
        # A CI job being cancelled (SIGTERM) stops as cleanly as Ctrl-C does.
        previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            report = apply_plan(
                the_plan,
                client=client,
                recorder=recorder,
                parallelism=parallelism,
                progress=click.echo,
            )
        finally:
            signal.signal(signal.SIGTERM, previous)
    applied = report.keys(Outcome.APPLIED)
    if report.ok:
        click.echo(
            f"Apply complete: {len(applied)} campaign(s) applied with "
            f"{report.requests_sent} request(s)."
        )
        return 0
    click.echo("")
    for result in report.results:
        if result.error:
            click.echo(f"Failed: {result.error}", err=True)
    left = report.keys(Outcome.NOT_ATTEMPTED) + report.keys(Outcome.INTERRUPTED)
    click.echo(
        f"Apply stopped: {len(applied)} applied, {len(report.keys(Outcome.FAILED))} failed, "
        f"{len(report.keys(Outcome.INTERRUPTED))} interrupted, "
        f"{len(report.keys(Outcome.NOT_ATTEMPTED))} not attempted."
        + (f" Not finished: {', '.join(left)}." if left else "")
        + " State holds every request that succeeded; run `campaignsync plan` to see what is left.",
        err=True,
    )
    return 1


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _confirm() -> None:
    if not sys.stdin.isatty():
        raise ConfigError(
            "apply asks for confirmation, but there is no terminal to ask on. Review the plan "
            "and pass --auto-approve, or apply a saved plan file (`plan --out FILE`)."
        )
    answer = click.prompt(
        "Apply these changes to Ontora? Only 'yes' will be accepted", default="", show_default=False
    )
    if answer.strip() != "yes":
        raise CampaignsyncError("Apply cancelled; nothing was sent.")


def _read_plan_file(path: Path) -> Plan:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"The plan file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"The plan file {path} is not a readable JSON plan: {exc}.") from exc
    if not isinstance(document, dict) or document.get("format_version") != PLAN_FORMAT_VERSION:
        raise ConfigError(
            f"The plan file {path} is not a campaignsync plan of format_version "
            f"{PLAN_FORMAT_VERSION}; make a new one with `campaignsync plan --out FILE`."
        )
    try:
        the_plan = Plan.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(f"The plan file {path} is damaged: {exc.errors()[0]['msg']}.") from exc
    if content_digest(document) != the_plan.digest:
        raise ConfigError(
            f"The plan file {path} was changed after it was made (its digest does not match). "
            "Make a new one with `campaignsync plan --out FILE`."
        )
    return the_plan


@cli.group("state")
def state_group() -> None:
    """Inspect and edit the state file (what campaignsync last applied)."""


@state_group.command("list")
@_settings_options
def state_list(
    dir_: str | None, state: str | None, api_url: str | None, workspace_id: str | None
) -> None:
    """List the campaigns in state with their Ontora ids."""
    current = _read_configured_state(_settings(dir_, state, api_url, workspace_id))
    for key, entry in current.campaigns.items():
        if entry.interview_id is None:
            click.echo(f"{key}\t(create pending)")
        else:
            click.echo(f"{key}\t{entry.interview_id}\t{entry.applied_at or ''}")


@state_group.command("show")
@_settings_options
@click.argument("key")
def state_show(
    dir_: str | None, state: str | None, api_url: str | None, workspace_id: str | None, key: str
) -> None:
    """Print one campaign's state entry as JSON."""
    current = _read_configured_state(_settings(dir_, state, api_url, workspace_id))
    entry = _entry(current, key)
    click.echo(json.dumps({key: entry.model_dump(mode="json")}, indent=2, ensure_ascii=False))


@state_group.command("rm")
@_settings_options
@_lock_timeout_option
@click.argument("key")
def state_rm(
    dir_: str | None,
    state: str | None,
    api_url: str | None,
    workspace_id: str | None,
    lock_timeout: float,
    key: str,
) -> None:
    """Forget a campaign; it stays in Ontora (there is no delete endpoint)."""
    settings = _settings(dir_, state, api_url, workspace_id)
    with state_lock(settings.state_path, timeout=lock_timeout):
        current = _read_configured_state(settings)
        entry = _entry(current, key)
        write_state(settings.state_path, current.with_entry(key, None))
    where = f"campaign {entry.interview_id}" if entry.interview_id else "its pending create"
    click.echo(f"Forgot {key} ({where}). Ontora still has it; campaignsync no longer manages it.")


@state_group.command("mv")
@_settings_options
@_lock_timeout_option
@click.argument("old")
@click.argument("new")
def state_mv(
    dir_: str | None,
    state: str | None,
    api_url: str | None,
    workspace_id: str | None,
    lock_timeout: float,
    old: str,
    new: str,
) -> None:
    """Follow a renamed campaign file: move the state entry OLD to NEW."""
    settings = _settings(dir_, state, api_url, workspace_id)
    with state_lock(settings.state_path, timeout=lock_timeout):
        current = _read_configured_state(settings)
        entry = _entry(current, old)
        if new in current.campaigns:
            raise StateError(
                f"State already has a campaign {new!r}. Remove it first with "
                f"`campaignsync state rm {new}` if it is no longer wanted."
            )
        write_state(settings.state_path, current.with_entry(old, None).with_entry(new, entry))
    click.echo(f"Moved {old} to {new}.")


def _read_configured_state(settings: Settings) -> State:
    return read_state(
        settings.state_path, api_url=settings.api_url, workspace_id=settings.workspace_id
    )


def _entry(current: State, key: str) -> Entry:
    entry = current.campaigns.get(key)
    if entry is None:
        known = ", ".join(current.campaigns) or "none"
        raise StateError(f"State has no campaign {key!r} (it has: {known}).")
    return entry


def main() -> None:
    cli.main(prog_name="campaignsync")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option("--port", type=click.IntRange(1, 65535), default=8787, show_default=True)
@click.option("--token", help="Accept only this bearer token or API key (default: any).")
@click.option("--strict", is_flag=True, help="Reject fields an endpoint does not document.")
@click.option(
    "--data", type=click.Path(dir_okay=False, path_type=Path), help="Persist campaigns here."
)
@click.option("--latency-ms", type=click.IntRange(min=0), default=0, help="Delay every answer.")
@click.option(
    "--error-rate", type=click.FloatRange(0, 1), default=0.0, help="Share of 503 answers."
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Requests per second beyond which it answers 429 with Retry-After (0: no limit).",
)
@click.option(
    "--drop-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Share of requests whose connection is closed without an answer (after they apply).",
)
@click.option("--seed", type=int, help="Seed for the fault dice, for repeatable rehearsals.")
def emulator(
    host: str,
    port: int,
    token: str | None,
    strict: bool,
    data: Path | None,
    latency_ms: int,
    error_rate: float,
    rate_limit: float,
    drop_rate: float,
    seed: int | None,
) -> None:
    """Serve a local Ontora emulator for trials and tests (needs campaignsync[emulator])."""
    check_api_url(f"http://{host}:{port}")
    try:
        from campaignsync.emulator import EmulatorConfig, Faults, serve
    except ImportError as exc:
        raise ConfigError(
            "The emulator needs FastAPI and uvicorn: pip install 'campaignsync[emulator]'."
        ) from exc
    faults = Faults(
        latency_ms=latency_ms, error_rate=error_rate, rate_limit=rate_limit, drop_rate=drop_rate
    )
    config = EmulatorConfig(token=token, strict=strict, faults=faults, data_path=data, seed=seed)
    click.echo(
        f"Ontora emulator on http://{host}:{port} (try: export ONTORA_API_URL=http://{host}:{port})",
        err=True,
    )
    serve(config, host=host, port=port)
