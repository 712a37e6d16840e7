"""`emulator`: serve the local Ontora emulator on loopback."""

from __future__ import annotations

import socket
from pathlib import Path

import click

from campaignsync.commands.wiring import FilePath, FiniteFloatRange
from campaignsync.config import is_loopback
from campaignsync.errors import ConfigError
from campaignsync.ontora_models import STATUSES
from campaignsync.terminal import echo


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option("--port", type=click.IntRange(1, 65535), default=8787, show_default=True)
@click.option("--token", help="Accept only this bearer token or API key (default: any).")
@click.option("--strict", is_flag=True, help="Reject fields an endpoint does not document.")
@click.option("--data", type=FilePath(), help="Persist campaigns here.")
@click.option("--latency-ms", type=click.IntRange(min=0), default=0, help="Delay every answer.")
@click.option(
    "--error-rate", type=FiniteFloatRange(0, 1), default=0.0, help="Share of 503 answers."
)
@click.option(
    "--rate-limit",
    type=FiniteFloatRange(min=0),
    default=0.0,
    help="Requests per second beyond which it answers 429 with Retry-After (0: no limit).",
)
@click.option(
    "--drop-rate",
    type=FiniteFloatRange(0, 1),
    default=0.0,
    help="Share of requests whose connection is closed without an answer (after they apply).",
)
@click.option("--seed", type=int, help="Seed for the fault dice, for repeatable rehearsals.")
@click.option(
    "--locked-status",
    "locked_statuses",
    multiple=True,
    type=click.Choice(STATUSES),
    help="Refuse draft and finalize edits in this status with 409 campaign_locked; "
    "repeatable (default: completed).",
)
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
    locked_statuses: tuple[str, ...],
) -> None:
    """Serve a local Ontora emulator for trials and tests (needs campaignsync[emulator])."""
    if not is_loopback(host):
        raise ConfigError(
            f"The emulator serves only on loopback (127.0.0.1, localhost or ::1), not {host}."
        )
    try:
        from campaignsync.emulator_faults import Faults
        from campaignsync.emulator_process import serve
        from campaignsync.emulator_state import EmulatorConfig
    except ImportError as exc:
        raise ConfigError(
            "The emulator needs FastAPI and uvicorn: pip install 'campaignsync[emulator]'."
        ) from exc
    _check_port_is_free(host, port)
    faults = Faults(
        latency_ms=latency_ms, error_rate=error_rate, rate_limit=rate_limit, drop_rate=drop_rate
    )
    if locked_statuses:
        faults.locked_statuses = list(locked_statuses)
    config = EmulatorConfig(token=token, strict=strict, faults=faults, data_path=data, seed=seed)
    echo(
        f"Ontora emulator on http://{host}:{port} (try: export ONTORA_API_URL=http://{host}:{port})",
        err=True,
    )
    serve(config, host=host, port=port)


def _check_port_is_free(host: str, port: int) -> None:
    """Refuse a taken port with a message and exit 1; uvicorn would log it and exit 3."""
    family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(
                f"Port {port} on {host} is already in use ({exc.strerror}), perhaps by another "
                "emulator. Stop that one, or pass --port with a free port."
            ) from exc
