"""The TLS context of every Ontora client in a process, built once, in the background.

Building it loads the certificate store (httpx's default: certifi's bundle, or the files
SSL_CERT_FILE and SSL_CERT_DIR name; SSLKEYLOGFILE, if set, is opened too), which takes
tens of milliseconds with the GIL released. `prepare` starts that in a thread, so that a
command can read its plan and state meanwhile; `context` waits for it. Settings that
cannot be used are a ConfigError naming them, raised where the context is needed, never
by `prepare`.
"""

from __future__ import annotations

import os
import ssl
import threading
from concurrent.futures import Future

from campaignsync.errors import ConfigError
from campaignsync.scrub import untrusted

_SETTINGS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE")
_lock = threading.Lock()
_built: dict[tuple[str | None, ...], Future[ssl.SSLContext]] = {}


def prepare() -> None:
    """Start building the context for the current settings, unless that is under way."""
    _building()


def context() -> ssl.SSLContext:
    """The context for the current settings, once built."""
    return _building().result()


def _building() -> Future[ssl.SSLContext]:
    # By the settings it is built from: a changed SSL_CERT_FILE gets its own context.
    settings = tuple(os.environ.get(name) for name in _SETTINGS)
    with _lock:
        future = _built.get(settings)
        if future is None:
            future = _built[settings] = Future()
            threading.Thread(target=_build, args=(future,), name="tls", daemon=True).start()
    return future


def _build(future: Future[ssl.SSLContext]) -> None:
    import httpx  # only once a command talks to Ontora

    try:
        future.set_result(httpx.create_ssl_context(trust_env=True))
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        future.set_exception(
            ConfigError(
                f"The TLS certificates cannot be loaded ({untrusted(exc)}); check "
                "SSL_CERT_FILE and SSL_CERT_DIR, which name the certificates to trust, and "
                "SSLKEYLOGFILE, where TLS keys would be logged."
            )
        )
    except BaseException as exc:  # never leave a caller waiting for a failed build
        future.set_exception(exc)
