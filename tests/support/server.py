"""Start and stop a real ``prefect server`` subprocess for tests and benchmarks.

Each server gets a throwaway ``PREFECT_HOME``, a free port on 127.0.0.1 and its own
process group, and is considered ready once ``GET /api/health`` answers 200.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

__all__ = [
    "TEST_DATABASE_URL_ENV",
    "TEST_SERVER_PREFECT_ENV",
    "PrefectServer",
    "start_prefect_server",
]

#: Set to a ``postgresql+asyncpg://...`` URL (see ``scripts/postgres.sh``) to back the
#: test servers with PostgreSQL instead of a throwaway SQLite file.
TEST_DATABASE_URL_ENV = "PREFECT_SDK_TEST_DATABASE_URL"
#: Set to the ``prefect`` executable of another environment (``make test-compat``: an older
#: server line in ``.venv-compat``) to run the test servers from it instead of this one.
TEST_SERVER_PREFECT_ENV = "PREFECT_SDK_TEST_SERVER_PREFECT"

_STOP_GRACE_SECONDS = 10.0
_POLL_INTERVAL_SECONDS = 0.1
_LOG_TAIL_LINES = 40
_PORT_IN_USE_MARKERS = ("address already in use", "is already in use")

# Settings applied on top of the inherited environment (after every inherited
# PREFECT_* variable has been dropped, so a developer's profile cannot leak in).
_SERVER_SETTINGS: dict[str, str] = {
    # No anonymous usage report to the internet at startup (the server's
    # "telemetry" service is gated on this setting).
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # The UI is not part of the API; skipping it avoids copying/serving static files.
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    # Plain, unwrapped text in server.log.
    "PREFECT_CLI_COLORS": "false",
    "PREFECT_CLI_WRAP_LINES": "false",
    "PREFECT_CLI_PROMPT": "false",
    "COLUMNS": "200",
    # Stream logs over /logs/out (off by default in Prefect: the socket then sends nothing).
    "PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED": "true",
    "PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED": "true",
    # Flush log lines immediately so a failure report shows the real last lines.
    "PYTHONUNBUFFERED": "1",
}


@dataclass
class PrefectServer:
    """A running ``prefect server start`` subprocess."""

    api_url: str
    home: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    startup_seconds: float = 0.0
    version: str = ""  # the server's Prefect version, as GET /api/admin/version reports it
    _stopped: bool = field(default=False, init=False, repr=False)

    def stop(self) -> None:
        """Terminate the server's process group, wait up to 10 s, then kill it.

        Safe to call more than once.
        """
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            _signal_group(self.process, signal.SIGTERM)
            try:
                self.process.wait(timeout=_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGKILL)
                self.process.wait()
        # Reap anything the server left behind in its process group.
        _signal_group(self.process, signal.SIGKILL)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """Return the last ``lines`` lines of the server log."""
        return _tail(self.log_path, lines)

    def __enter__(self) -> PrefectServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_prefect_server(
    *,
    home: Path,
    database_url: str | None = None,
    timeout: float = 90.0,
    extra_env: Mapping[str, str] | None = None,
) -> PrefectServer:
    """Start ``prefect server start`` on a free 127.0.0.1 port and wait until healthy.

    ``home`` becomes ``PREFECT_HOME`` (and the working directory, so no ``.env`` or
    ``prefect.toml`` from the caller's directory is picked up); the log goes to
    ``home/server.log``. Without ``database_url`` the server uses its default
    SQLite file under ``home``. ``extra_env`` is applied last and wins.

    Raises ``RuntimeError`` (summary line followed by the log tail) if the server
    exits or is not healthy within ``timeout`` seconds.
    """
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    env = _server_env(home, database_url, extra_env)
    try:
        return _start_once(home, env, timeout)
    except _PortInUseError:
        # Someone grabbed the port between our probe and the server's bind.
        return _start_once(home, env, timeout)


class _PortInUseError(RuntimeError):
    pass


def _start_once(home: Path, env: dict[str, str], timeout: float) -> PrefectServer:
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log_path = home / "server.log"
    command = [*_prefect_command(), "server", "start", "--host", "127.0.0.1"]
    command += ["--port", str(port)]

    started = time.monotonic()
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=home,
            start_new_session=True,
        )
    server = PrefectServer(api_url=api_url, home=home, log_path=log_path, process=process)

    try:
        failure = _wait_until_healthy(server, started + timeout)
    except BaseException:
        server.stop()
        raise
    if failure is None:
        server.startup_seconds = time.monotonic() - started
        server.version = _read_version(server, env.get("PREFECT_SERVER_API_AUTH_STRING"))
        return server

    server.stop()
    tail = server.log_tail()
    summary = (
        f"Prefect server at {api_url} {failure} after {time.monotonic() - started:.1f}s "
        f"(PREFECT_HOME={home}); last lines of {log_path}:"
    )
    message = f"{summary}\n{tail}"
    if any(marker in tail.lower() for marker in _PORT_IN_USE_MARKERS):
        raise _PortInUseError(message)
    raise RuntimeError(message)


def _wait_until_healthy(server: PrefectServer, deadline: float) -> str | None:
    """Poll ``/health``; return ``None`` once it answers 200, else why it failed."""
    timeouts = httpx.Timeout(2.0, connect=1.0)
    with httpx.Client(timeout=timeouts, trust_env=False) as client:
        while True:
            code = server.process.poll()
            if code is not None:
                return f"exited with code {code} before becoming healthy"
            try:
                if client.get(f"{server.api_url}/health").status_code == 200:
                    return None
            except httpx.HTTPError:
                pass
            if time.monotonic() >= deadline:
                return "did not become healthy in time"
            time.sleep(_POLL_INTERVAL_SECONDS)


def _read_version(server: PrefectServer, auth_string: str | None) -> str:
    user, _, password = (auth_string or "").partition(":")
    auth = (user, password) if auth_string else None
    response = httpx.get(
        f"{server.api_url}/admin/version", timeout=10.0, trust_env=False, auth=auth
    )
    response.raise_for_status()
    version: str = response.json()
    return version


def _server_env(
    home: Path, database_url: str | None, extra_env: Mapping[str, str] | None
) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(_SERVER_SETTINGS)
    env["PREFECT_HOME"] = str(home)
    if database_url is not None:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url
    if extra_env:
        env.update(extra_env)
    return env


def _prefect_command() -> list[str]:
    other = os.environ.get(TEST_SERVER_PREFECT_ENV)
    if other:
        if not os.access(other, os.X_OK):
            raise RuntimeError(f"{TEST_SERVER_PREFECT_ENV}={other} is not an executable")
        return [other]
    executable = Path(sys.executable).parent / "prefect"
    if executable.is_file() and os.access(executable, os.X_OK):
        return [str(executable)]
    return [sys.executable, "-m", "prefect"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # start_new_session=True made the server a session (and group) leader.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"<could not read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])
