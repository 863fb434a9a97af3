"""Prefect's TLS settings, against a real loopback HTTPS and WSS server with a self-signed
certificate made by the test.

- `PREFECT_API_SSL_CERT_FILE=<CA bundle>`: the server is verified against that bundle;
- `PREFECT_API_TLS_INSECURE_SKIP_VERIFY=true`: not verified at all;
- neither: the usual CA bundle, which refuses a self-signed certificate;
- `httpx_settings={"verify": ...}` wins over both, as in Prefect's client;
- the websocket streams (`wss://`) follow the same settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import http.server
import ipaddress
import json
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from prefect_sdk import PrefectClient, SyncPrefectClient
from prefect_sdk.errors import PrefectSDKError

LOG_ID = uuid.UUID("9d0c4f57-3c39-4a52-8d3e-1f4a1c1e0a01")


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by its own key: (cert, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "prefect-sdk test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"true"
        self.send_response(200 if self.path == "/api/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class TLSServer:
    api_url: str
    cert_file: Path


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSServer]:
    """An HTTPS server on 127.0.0.1 answering `GET /api/health`, with a self-signed cert."""
    cert_file, key_file = self_signed(tmp_path_factory.mktemp("tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield TLSServer(f"https://127.0.0.1:{server.server_address[1]}/api", cert_file)
    finally:
        server.shutdown()
        server.server_close()


def health(kind: str, api_url: str, **options: Any) -> Exception | None:
    """What `api_healthcheck` gives through the `kind` client: None, or the error met."""
    if kind == "sync":
        with SyncPrefectClient(api_url, **options) as client:
            return client.api_healthcheck()

    async def run() -> Exception | None:
        async with PrefectClient(api_url, **options) as client:
            return await client.api_healthcheck()

    return asyncio.run(run())


@pytest.fixture(autouse=True)
def no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused certificate is final: no retries to wait through."""
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "0")


def assert_refused(error: Exception | None) -> None:
    assert isinstance(error, httpx.ConnectError), error
    assert "CERTIFICATE_VERIFY_FAILED" in str(error)


def test_default_verification_refuses_a_self_signed_certificate(
    tls_server: TLSServer, kind: str
) -> None:
    assert_refused(health(kind, tls_server.api_url))


def test_ssl_cert_file_verifies_against_that_bundle(
    tls_server: TLSServer, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_SSL_CERT_FILE", str(tls_server.cert_file))
    assert health(kind, tls_server.api_url) is None


def test_ssl_cert_file_from_the_profile(
    tls_server: TLSServer, kind: str, prefect_home: Path
) -> None:
    (prefect_home / "profiles.toml").write_text(
        f'active = "p"\n[profiles.p]\nPREFECT_API_SSL_CERT_FILE = "{tls_server.cert_file}"\n'
    )
    assert health(kind, tls_server.api_url) is None


def test_insecure_skip_verify_accepts_any_certificate(
    tls_server: TLSServer, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_TLS_INSECURE_SKIP_VERIFY", "true")
    assert health(kind, tls_server.api_url) is None


def test_skip_verify_wins_over_the_cert_file(
    tls_server: TLSServer, kind: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other, _ = self_signed(tmp_path)  # a bundle that does not hold the server's certificate
    monkeypatch.setenv("PREFECT_API_SSL_CERT_FILE", str(other))
    assert_refused(health(kind, tls_server.api_url))
    monkeypatch.setenv("PREFECT_API_TLS_INSECURE_SKIP_VERIFY", "true")
    assert health(kind, tls_server.api_url) is None


def test_httpx_settings_verify_wins_over_the_settings(
    tls_server: TLSServer, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_TLS_INSECURE_SKIP_VERIFY", "true")
    assert_refused(health(kind, tls_server.api_url, httpx_settings={"verify": True}))
    monkeypatch.delenv("PREFECT_API_TLS_INSECURE_SKIP_VERIFY")
    context = ssl.create_default_context(cafile=str(tls_server.cert_file))
    assert health(kind, tls_server.api_url, httpx_settings={"verify": context}) is None


def test_an_unreadable_cert_file_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.pem"
    monkeypatch.setenv("PREFECT_API_SSL_CERT_FILE", str(missing))
    with pytest.raises(PrefectSDKError, match=r"^PREFECT_API_SSL_CERT_FILE='.*nope\.pem' cannot"):
        SyncPrefectClient("https://127.0.0.1:1/api")


# ------------------------------------------------------------------------- websockets


@pytest.fixture(scope="module")
def wss_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSServer]:
    """A WSS server on 127.0.0.1 speaking just enough of `/logs/out`: it answers the auth
    message, takes the filter and sends one log."""
    from websockets.sync.server import ServerConnection, serve

    cert_file, key_file = self_signed(tmp_path_factory.mktemp("wss"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)

    def handler(connection: ServerConnection) -> None:
        json.loads(connection.recv())  # auth
        connection.send(json.dumps({"type": "auth_success"}))
        json.loads(connection.recv())  # filter
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        log = {
            "id": str(LOG_ID),
            "created": now,
            "updated": now,
            "name": "tls",
            "level": 20,
            "message": "over wss",
            "timestamp": now,
        }
        connection.send(json.dumps({"type": "log", "log": log}))
        with contextlib.suppress(Exception):  # the client goes away: the test is over
            connection.recv(timeout=30)

    server = serve(handler, "127.0.0.1", 0, ssl=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield TLSServer(f"https://127.0.0.1:{server.socket.getsockname()[1]}/api", cert_file)
    finally:
        server.shutdown()


def first_log(api_url: str) -> Any:
    """The first log of `subscribe_logs`; its one REST call (the server's settings) answered by a
    mock transport, so that only the websocket meets the server's certificate."""

    def settings(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/admin/settings"
        return httpx.Response(200, json={})

    with SyncPrefectClient(
        api_url, httpx_settings={"transport": httpx.MockTransport(settings)}
    ) as client:
        for log in client.subscribe_logs(reconnection_attempts=0):
            return log
    return None


def test_websocket_refuses_a_self_signed_certificate_by_default(wss_server: TLSServer) -> None:
    with pytest.raises(PrefectSDKError, match="CERTIFICATE_VERIFY_FAILED"):
        first_log(wss_server.api_url)


def test_websocket_follows_the_cert_file(
    wss_server: TLSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_SSL_CERT_FILE", str(wss_server.cert_file))
    assert first_log(wss_server.api_url).id == LOG_ID


def test_websocket_follows_skip_verify(
    wss_server: TLSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_TLS_INSECURE_SKIP_VERIFY", "true")
    assert first_log(wss_server.api_url).message == "over wss"
