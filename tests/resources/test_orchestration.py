"""Run a deployment and wait, follow events and logs, emit events: both clients, real server.

The "worker" is the test itself: a thread that finds the deployment's scheduled run through the
SDK and moves it Pending -> Running -> Completed (or Failed), as a Prefect worker would.
"""

from __future__ import annotations

import datetime
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from prefect_api.models import FlowRunResponse, Log, ReceivedEvent
from prefect_sdk import (
    FlowRunWaitTimeout,
    PrefectClient,
    PrefectHTTPStatusError,
    SyncPrefectClient,
    states,
)
from prefect_sdk._resources.streams import EVENTS_CATCH_UP_DELAY
from tests.support.streams import Subscriber
from tests.support.ws_proxy import SocketProxy

NOW = datetime.datetime.now(datetime.timezone.utc)


class Worker(threading.Thread):
    """Plays a worker for one deployment: takes its first scheduled run and finishes it."""

    def __init__(self, api_url: str, deployment_id: uuid.UUID, final: str = "COMPLETED") -> None:
        super().__init__(daemon=True)
        self.api_url, self.deployment_id, self.final = api_url, deployment_id, final
        self.run_id: uuid.UUID | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with SyncPrefectClient(self.api_url) as client:
                deadline = time.monotonic() + 60
                while self.run_id is None and time.monotonic() < deadline:
                    runs = client.read_flow_runs(
                        deployment_filter={"id": {"any_": [str(self.deployment_id)]}}
                    )
                    if runs:
                        self.run_id = runs[0].id
                    else:
                        time.sleep(0.1)
                assert self.run_id is not None, "no run of the deployment appeared"
                client.set_flow_run_state(self.run_id, states.Pending())
                client.set_flow_run_state(self.run_id, states.Running())
                time.sleep(1.0)
                final = states.Completed() if self.final == "COMPLETED" else states.Failed()
                client.set_flow_run_state(self.run_id, final)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error


def new_deployment(client: Any, unique: str, **fields: Any) -> uuid.UUID:
    flow_id = client.create_flow_from_name(f"{unique}-flow")
    deployment_id: uuid.UUID = client.create_deployment(flow_id, f"{unique}-dep", **fields)
    return deployment_id


@pytest.mark.parametrize("final", ["COMPLETED", "FAILED"])
def test_run_deployment_waits_for_the_final_state(
    client: Any, api_url: str, unique: str, final: str
) -> None:
    deployment_id = new_deployment(client, unique)
    worker = Worker(api_url, deployment_id, final)
    worker.start()

    run = client.run_deployment(f"{unique}-flow/{unique}-dep", parameters={"x": 1}, timeout=60)

    worker.join(timeout=30)
    assert worker.error is None
    assert isinstance(run, FlowRunResponse)
    assert run.id == worker.run_id and run.deployment_id == deployment_id
    assert run.state.type_.value == final
    assert run.parameters.to_dict() == {"x": 1}


def test_run_deployment_without_waiting_and_with_a_key(client: Any, unique: str) -> None:
    deployment_id = new_deployment(client, unique)
    later = NOW + datetime.timedelta(hours=1)

    run = client.run_deployment(
        deployment_id,
        timeout=0,
        scheduled_time=later,
        flow_run_name=f"{unique}-run",
        tags=["t1"],
        idempotency_key=f"{unique}-key",
    )
    again = client.run_deployment(str(deployment_id), timeout=0, idempotency_key=f"{unique}-key")

    assert run.state.type_.value == "SCHEDULED"
    assert run.name == f"{unique}-run" and "t1" in run.tags
    assert run.state.state_details.scheduled_time == later
    assert again.id == run.id


def test_run_deployment_timeout_leaves_the_run(client: Any, unique: str) -> None:
    deployment_id = new_deployment(client, unique)
    started = time.monotonic()

    with pytest.raises(FlowRunWaitTimeout) as info:
        client.run_deployment(deployment_id, timeout=1.5)

    assert 1.5 <= time.monotonic() - started < 15
    error = info.value
    assert isinstance(error, TimeoutError)
    assert str(error.flow_run.id) in str(error) and "SCHEDULED" in str(error)
    assert "\n" not in str(error)
    assert client.read_flow_run(error.flow_run.id).state.type_.value == "SCHEDULED"


def test_run_deployment_bad_input(client: Any, unique: str) -> None:
    schema = {
        "type": "object",
        "properties": {"x": {"type": "integer"}},
        "required": ["x"],
    }
    deployment_id = new_deployment(
        client, unique, parameter_openapi_schema=schema, enforce_parameter_schema=True
    )
    with pytest.raises(PrefectHTTPStatusError) as info:
        client.run_deployment(deployment_id, parameters={"x": "not a number"}, timeout=0)
    assert "x" in str(info.value) and info.value.status_code in (409, 422)
    with pytest.raises(ValueError, match="flow-name/deployment-name"):
        client.run_deployment("no-slash", timeout=0)
    with pytest.raises(ValueError, match="timeout must be"):
        client.run_deployment(deployment_id, timeout=-1)


# ----- waiting -----


def test_wait_for_a_run_that_finishes_while_the_socket_opens(client: Any, unique: str) -> None:
    flow_id = client.create_flow_from_name(f"{unique}-wait")
    run = client.create_flow_run(flow_id)
    client.set_flow_run_state(run.id, states.Running())
    finisher = threading.Timer(0.05, _complete, (client, run.id))
    finisher.start()
    started = time.monotonic()

    done = client.wait_for_flow_run(run.id, timeout=60)

    assert done.state.type_.value == "COMPLETED"
    assert time.monotonic() - started < 15


def _complete(client: Any, run_id: uuid.UUID) -> None:
    with SyncPrefectClient(_api_of(client)) as other:
        other.set_flow_run_state(run_id, states.Completed())


def _api_of(client: Any) -> str:
    target = getattr(client, "client", client)
    return str(target.api_url)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_wait_falls_back_to_polling_without_a_websocket(
    kind: str, api_url: str, unique: str
) -> None:
    with SyncPrefectClient(api_url) as direct:
        run = direct.create_flow_run(direct.create_flow_from_name(f"{unique}-poll"))
        direct.set_flow_run_state(run.id, states.Running())
    threading.Timer(1.0, _complete_at, (api_url, run.id)).start()

    with SocketProxy(api_url, refuse_upgrades=True) as proxy:
        done = _call(kind, proxy.api_url, "wait_for_flow_run", run.id, timeout=60, poll_interval=1)
        assert proxy.refused >= 1 and proxy.upgrades == 0
    assert done.state.type_.value == "COMPLETED"


def _complete_at(api_url: str, run_id: uuid.UUID) -> None:
    with SyncPrefectClient(api_url) as other:
        other.set_flow_run_state(run_id, states.Completed())


def _call(kind: str, api: str, method: str, *args: Any, **kwargs: Any) -> Any:
    if kind == "sync":
        with SyncPrefectClient(api) as client:
            return getattr(client, method)(*args, **kwargs)

    async def run() -> Any:
        async with PrefectClient(api) as client:
            return await getattr(client, method)(*args, **kwargs)

    import asyncio

    return asyncio.run(run())


# ----- event streams -----


def _marker_until(rid: str) -> Any:
    return lambda event: (
        event.event == "test.end" and event.resource.to_dict()["prefect.resource.id"] == rid
    )


def _wait_until_streaming(api_url: str, subscriber: Subscriber, rid: str) -> None:
    """Emit `test.ready` events for `rid` until the subscriber yields one: it is subscribed."""
    with SyncPrefectClient(api_url) as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            client.emit_event("test.ready", {"prefect.resource.id": rid})
            try:
                item = subscriber.items.get(timeout=0.5)
            except Exception:  # noqa: BLE001 - queue.Empty: not yet
                continue
            if isinstance(item, BaseException):
                raise item
            if item.event == "test.ready":
                return
        raise AssertionError("the subscription never yielded its marker event")


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_subscribe_events_sees_a_runs_state_changes_in_order(
    kind: str, api_url: str, unique: str
) -> None:
    with SyncPrefectClient(api_url) as direct:
        scheduled = states.Scheduled()
        run = direct.create_flow_run(
            direct.create_flow_from_name(f"{unique}-events"), state=scheduled
        )
        decoy = direct.create_flow_run(
            direct.create_flow_from_name(f"{unique}-decoy"), state=scheduled
        )
    rid = f"prefect.flow-run.{run.id}"
    marker = f"test.{unique}"
    wanted = {"any_resource": {"id": [rid, marker]}}

    with Subscriber(
        kind, api_url, "subscribe_events", wanted, backfill=False, until=_marker_until(marker)
    ) as subscriber:
        _wait_until_streaming(api_url, subscriber, marker)
        with SyncPrefectClient(api_url) as direct:
            for state in (states.Pending(), states.Running(), states.Completed()):
                direct.set_flow_run_state(decoy.id, state, force=True)
                direct.set_flow_run_state(run.id, state)
            direct.emit_event("test.end", {"prefect.resource.id": marker})
        events = [e for e in subscriber.rest() if e.event.startswith("prefect.flow-run.")]

    assert all(isinstance(e, ReceivedEvent) for e in events)
    assert [e.event for e in events] == [
        "prefect.flow-run.Pending",
        "prefect.flow-run.Running",
        "prefect.flow-run.Completed",
    ]
    assert {e.resource.to_dict()["prefect.resource.id"] for e in events} == {rid}


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_subscribe_events_resumes_after_a_dropped_socket(
    kind: str, api_url: str, unique: str
) -> None:
    rid = f"test.{unique}"
    with (
        SocketProxy(api_url) as proxy,
        Subscriber(
            kind,
            proxy.api_url,
            "subscribe_events",
            {"resource": {"id": [rid]}},
            backfill=False,
            until=_marker_until(rid),
        ) as subscriber,
    ):
        _wait_until_streaming(api_url, subscriber, rid)
        with SyncPrefectClient(api_url) as direct:
            sent = []
            for batch in range(4):
                sent += direct.emit_events(
                    [
                        {
                            "event": "test.tick",
                            "resource": {"prefect.resource.id": rid},
                            "payload": {"n": batch * 25 + i},
                        }
                        for i in range(25)
                    ]
                )
                assert proxy.drop_sockets() >= 1  # mid-stream, between and during batches
                time.sleep(0.3)
            # After a reconnect the stream reads what it missed over REST, once the server has
            # stored it (EVENTS_CATCH_UP_DELAY): wait past that before ending the stream.
            time.sleep(EVENTS_CATCH_UP_DELAY + 3)
            direct.emit_event("test.end", {"prefect.resource.id": rid})
        ticks = [e for e in subscriber.rest(timeout=90) if e.event == "test.tick"]

    assert sorted(e.payload.to_dict()["n"] for e in ticks) == list(range(100))  # none lost
    assert len({e.id for e in ticks}) == len(ticks) == 100  # none twice
    assert {e.id for e in ticks} == {e.id for e in sent}
    assert proxy.upgrades >= 5  # it reconnected after each drop


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_emit_500_events_then_backfill_sees_each_once(kind: str, api_url: str, unique: str) -> None:
    rid = f"test.{unique}"
    events = [
        {"event": "test.bulk", "resource": {"prefect.resource.id": rid}, "payload": {"n": n}}
        for n in range(500)
    ]
    events.append({"event": "test.end", "resource": {"prefect.resource.id": rid}})
    sent = _call(kind, api_url, "emit_events", events)[:500]
    assert len(sent) == 500 and len({e.id for e in sent}) == 500

    with SyncPrefectClient(api_url) as direct:
        deadline = time.monotonic() + 60
        while direct.read_events({"resource": {"id": [rid]}}).total < 501:
            assert time.monotonic() < deadline, "the server did not store the 501 events"
            time.sleep(0.5)
        stored = [
            e for e in direct.iter_events({"resource": {"id": [rid]}}) if e.event == "test.bulk"
        ]
    assert sorted(e.id for e in stored) == sorted(e.id for e in sent)

    with Subscriber(
        kind,
        api_url,
        "subscribe_events",
        {"resource": {"id": [rid]}},
        backfill=True,
        until=_marker_until(rid),
    ) as subscriber:
        backfilled = [e for e in subscriber.rest(timeout=90) if e.event == "test.bulk"]
    assert sorted(e.id for e in backfilled) == sorted(e.id for e in sent)


def test_emit_event_checks_its_input(client: Any) -> None:
    with pytest.raises(ValueError, match="prefect.resource.id"):
        client.emit_event("x.y", {"name": "no id"})
    with pytest.raises(ValueError, match="JSON"):
        client.emit_event("x.y", {"prefect.resource.id": "a"}, payload={"when": object()})
    with pytest.raises(ValueError, match="event must be a non-empty string"):
        client.emit_event("", {"prefect.resource.id": "a"})
    event = client.emit_event("x.y", {"prefect.resource.id": "a"}, via="http")
    assert isinstance(event.id, uuid.UUID) and event.occurred.tzinfo is not None


# ----- log streams -----


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_subscribe_logs_sees_only_its_runs_logs(kind: str, api_url: str, unique: str) -> None:
    with SyncPrefectClient(api_url) as direct:
        flow_id = direct.create_flow_from_name(f"{unique}-logs")
        run = direct.create_flow_run(flow_id)
        other = direct.create_flow_run(flow_id)

    def log(run_id: uuid.UUID, message: str) -> dict[str, Any]:
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        return {
            "name": "t",
            "level": 20,
            "message": message,
            "timestamp": now,
            "flow_run_id": str(run_id),
        }

    with (
        Subscriber(
            kind,
            api_url,
            "subscribe_logs",
            {"flow_run_id": {"any_": [str(run.id)]}},
            until=lambda item: item.message == "END",
        ) as subscriber,
        SyncPrefectClient(api_url) as direct,
    ):
        deadline = time.monotonic() + 30
        while True:  # until the stream is open: a "ready" log comes through
            direct.create_logs([log(run.id, "ready")])
            try:
                first = subscriber.items.get(timeout=0.5)
                break
            except Exception:  # noqa: BLE001 - queue.Empty
                assert time.monotonic() < deadline
        assert isinstance(first, Log)
        direct.create_logs([log(other.id, "not mine"), log(run.id, "one"), log(run.id, "two")])
        direct.create_logs([log(run.id, "END")])
        logs = subscriber.rest()

    messages = [entry.message for entry in logs if entry.message != "ready"]
    assert messages == ["one", "two", "END"]
    assert {entry.flow_run_id for entry in logs} == {run.id}


# ----- a server with an auth string -----


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.support.server import start_prefect_server

    server = start_prefect_server(
        home=tmp_path_factory.mktemp("auth-server"),
        extra_env={
            "PREFECT_SERVER_API_AUTH_STRING": "admin:s3cret-pass",
            # Prefect's default: logs are not streamed (the test servers turn it on).
            "PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED": "false",
            "PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED": "false",
        },
    )
    try:
        yield server.api_url
    finally:
        server.stop()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_streams_authenticate_with_the_auth_string(
    kind: str, auth_server: str, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    from prefect_sdk import StreamAuthenticationError

    rid = f"test.{unique}"
    right = {"auth_string": "admin:s3cret-pass"}
    with Subscriber(
        kind,
        auth_server,
        "subscribe_events",
        {"resource": {"id": [rid]}},
        until=_marker_until(rid),
        client_options=right,
    ) as subscriber:
        with SyncPrefectClient(auth_server, **right) as direct:
            deadline = time.monotonic() + 30
            while subscriber.thread.is_alive() and time.monotonic() < deadline:
                direct.emit_event("test.end", {"prefect.resource.id": rid})
                time.sleep(0.5)
        assert [e.event for e in subscriber.rest()][-1] == "test.end"

    for options in ({"auth_string": "admin:wrong"}, {}):
        started = time.monotonic()
        with (
            Subscriber(
                kind,
                auth_server,
                "subscribe_events",
                until=lambda e: True,
                client_options=options,
            ) as subscriber,
            pytest.raises(StreamAuthenticationError) as info,
        ):
            subscriber.rest(timeout=30)
        assert time.monotonic() - started < 15  # refused at once: not retried, no hang
        message = str(info.value)
        assert "\n" not in message and "/events/out" in message
        assert "s3cret" not in message and "wrong" not in message
    assert "s3cret" not in caplog.text and "admin:wrong" not in caplog.text


def test_subscribe_logs_says_when_the_server_does_not_stream_logs(auth_server: str) -> None:
    from prefect_sdk import StreamError

    with (
        SyncPrefectClient(auth_server, auth_string="admin:s3cret-pass") as client,
        pytest.raises(StreamError) as info,
    ):
        next(iter(client.subscribe_logs()))
    message = str(info.value)
    assert "does not stream logs" in message
    assert "PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED" in message and "\n" not in message
