"""The local Ontora emulator: the endpoints campaignsync uses, served on loopback.

It behaves like the documented service: FastAPI's 422 bodies, `{detail, code}` errors,
auth by bearer token or API key, 404 for unknown campaigns, 409 `campaign_locked` for a
completed one, and Idempotency-Key replay on create. Faults can be injected (latency,
503s, 429 with Retry-After, dropped connections) for tests and rehearsals, and changed
while it runs through the `/_emulator/` endpoints, which also expose what it stores and
every request it received.

The pieces: `emulator_api` (the v1 routes), `emulator_admin` (the `/_emulator/` routes),
`emulator_state` (settings and campaigns), `emulator_faults` (the fault layer and request
log) and `emulator_process` (serving it, or running it as a child process).
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from campaignsync.emulator_admin import admin
from campaignsync.emulator_api import campaign_creation, interviews
from campaignsync.emulator_faults import FaultsAndLog
from campaignsync.emulator_state import ApiFailure, EmulatorConfig, EmulatorState


async def _answer_failure(request: Request, exc: ApiFailure) -> JSONResponse:
    return JSONResponse({"detail": exc.detail, "code": exc.code}, status_code=exc.status)


async def _answer_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's own 422, except that a NaN or Infinity the body held (Python's JSON reader
    # takes them) is echoed as text: JSON cannot carry it, and encoding it would be a 500.
    return JSONResponse({"detail": _finite(jsonable_encoder(exc.errors()))}, status_code=422)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value


def create_app(config: EmulatorConfig | None = None) -> FaultsAndLog:
    """The emulator as an ASGI application, behind its fault layer."""
    state = EmulatorState.start(config or EmulatorConfig())
    app = FastAPI(title="Ontora emulator (campaignsync)", version="1")
    app.state.emulator = state
    app.exception_handler(ApiFailure)(_answer_failure)
    app.exception_handler(RequestValidationError)(_answer_invalid)
    app.include_router(interviews)
    app.include_router(campaign_creation)
    app.include_router(admin)
    store = state.store
    return FaultsAndLog(app, state.config.faults, store.log, state.rng, store.in_flight)
