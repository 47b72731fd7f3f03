"""The RuntimeClient over the host's runtime API, against the fake host of ``fakehost.py``."""

import asyncio

import pytest
from fakehost import ADMIN, FakeHost

from botyard import RuntimeClient
from botyard.errors import ProtocolError
from botyard.runtime_api import APIError, ConfigurationError, RuntimeAPI


@pytest.fixture
def host():
    fake = FakeHost(workers={"w": "tok-w", "peer": "tok-peer"}, may_restart={"w": {"peer"}}).start()
    yield fake
    fake.close()


def client_of(host, token="tok-w", worker="w"):
    return RuntimeClient.standalone(RuntimeAPI(host.url, token, worker, timeout=5))


def test_publish_notify_and_sessions_send_what_the_host_expects(host):
    async def scenario():
        client = client_of(host)
        assert await client.publish("desk.fill", {"qty": 2}) == 1
        assert await client.notify("Filled", body="2 BTC", severity="success") == 2
        session = await client.create_session("s-1", agent="claude")
        assert (session.session_id, session.agent, session.created) == ("s-1", "claude", True)
        again = await client.create_session("s-1")
        assert (again.session_id, again.created) == ("s-1", False)
        assert await client.publish("desk.turn", {"n": 1}, session_id="s-1") == 3
        listed = await client.sessions()
        assert [(s.session_id, s.events, s.created_by) for s in listed] == [("s-1", 1, "w")]
        return await client.runtime(), await client.worker("w")

    runtime, status = asyncio.run(scenario())
    assert runtime["lastSeq"] == 3 and runtime["runtimeID"] == "rt-1"
    assert status["state"] == "running"
    posts = [(method, path, body) for method, path, body, caller in host.requests if method == "POST"]
    assert posts[0] == ("POST", "/api/events", {"kind": "desk.fill", "payload": {"qty": 2}})
    assert posts[1][2] == {"kind": "notify", "payload": {"source": "w", "title": "Filled", "body": "2 BTC",
                                                          "severity": "success"}}
    assert posts[2] == ("POST", "/api/sessions", {"session_id": "s-1", "agent": "claude"})
    assert posts[4] == ("POST", "/api/sessions/s-1/events", {"kind": "desk.turn", "payload": {"n": 1}})
    assert host.events[2]["session_id"] == "s-1"
    assert {caller for *_, caller in host.requests} == {"w"}


def test_restart_worker_goes_to_the_restart_route_and_403_names_may_restart(host):
    client = client_of(host)
    asyncio.run(client.restart_worker("peer"))
    assert host.restarts == ["peer"]
    with pytest.raises(APIError) as refused:
        asyncio.run(client.restart_worker("w"))
    assert refused.value.status == 403
    assert "may_restart:" in str(refused.value) and "POST /api/workers/w/restart: 403" in str(refused.value)


def test_the_host_s_refusals_raise_its_message(host):
    client = client_of(host)
    with pytest.raises(APIError, match="severity 'loud' is not one of") as bad:
        asyncio.run(client.notify("Hi", severity="loud"))
    assert bad.value.status == 400
    with pytest.raises(APIError, match="the 'worker.' prefix is reserved") as reserved:
        asyncio.run(client.api.publish("worker.state", {}))  # past the SDK's own check, to the host's
    assert reserved.value.status == 400
    with pytest.raises(APIError, match="no session 'nope'; create it") as missing:
        asyncio.run(client.publish("desk.x", {}, session_id="nope"))
    assert missing.value.status == 404
    with pytest.raises(APIError, match="401 wrong bearer token"):
        asyncio.run(client_of(host, token="stolen").runtime())
    with pytest.raises(APIError) as other:
        asyncio.run(client.worker("peer"))  # a worker's token reads its own status only
    assert other.value.status == 403


def test_ctx_calls_go_through_the_calls_route_and_map_errors(host):
    async def scenario():
        client = client_of(host)
        await client.state.set("cursor", {"seq": 7})
        assert await client.state.get("cursor") == {"seq": 7}
        assert await client.state.get("missing", "default") == "default"
        assert await client.state.incr("fills", 2) == 2
        assert await client.state.keys("c") == ["cursor"]
        with pytest.raises(ProtocolError, match="unknown ctx call 'nope.call'"):
            await client.api.call("nope.call", {})
        with pytest.raises(ValueError, match="is not JSON"):
            await client.api.call("state.set", {"key": "k", "json": "{bad"})

    asyncio.run(scenario())
    assert host.state["w"] == {"cursor": '{"seq":7}', "fills": "2"}
    assert ("POST", "/api/workers/w/calls", {"method": "state.incr", "params": {"key": "fills", "by": 2}}, "w") \
        in host.requests


def test_under_code_the_http_only_methods_use_the_runtime_variables(host, monkeypatch):
    class Conn:
        calls = []

        async def call(self, method, params):
            self.calls.append(method)
            return {"event_id": "e", "seq": 41}

    monkeypatch.setenv("BOTYARD_RUNTIME_URL", host.url)
    monkeypatch.setenv("BOTYARD_RUNTIME_TOKEN", ADMIN)
    monkeypatch.setenv("BOTYARD_WORKER", "w")
    client = RuntimeClient(Conn(), "w")

    async def scenario():
        assert await client.publish("desk.fill", {}) == 41  # over fd 3, as before
        await client.create_session("s-2")
        assert await client.publish("desk.turn", {}, session_id="s-2") == 1  # over HTTP
        return await client.runtime()

    assert asyncio.run(scenario())["lastSeq"] == 1
    assert Conn.calls == ["events.publish"]
    assert host.requests[-1][3] == "operator"


def test_without_the_variables_the_http_only_methods_say_what_is_missing(monkeypatch):
    for name in ("BOTYARD_RUNTIME_URL", "BOTYARD_RUNTIME_TOKEN", "BOTYARD_WORKER"):
        monkeypatch.delenv(name, raising=False)
    client = RuntimeClient(object(), "w")
    with pytest.raises(ConfigurationError, match="needs BOTYARD_RUNTIME_URL, BOTYARD_RUNTIME_TOKEN"):
        asyncio.run(client.runtime())
    with pytest.raises(ValueError, match="a seq"):
        client.subscribe("desk.x", since=-1)
    with pytest.raises(ValueError, match="reserved|printable"):
        client.subscribe("desk x")


async def collect(subscription, count, timeout=8.0):
    events = []
    async with asyncio.timeout(timeout):
        async for event in subscription:
            events.append(event)
            if len(events) == count:
                break
    await subscription.aclose()
    return events


def fast(subscription):
    subscription.first_delay, subscription.max_delay = 0.02, 0.1
    subscription._log = lambda message: None
    return subscription


def test_subscribe_resumes_after_a_dropped_stream_and_a_host_restart_without_loss_or_duplicates(host):
    host.publish("desk.tick", {"n": 0})  # before subscribe: not delivered

    async def scenario():
        subscription = fast(client_of(host).subscribe("desk.tick"))
        reader = asyncio.ensure_future(collect(subscription, 6))

        async def until_streams(count):
            await asyncio.to_thread(host.wait_for, lambda: len(host.stream_queries) == count and host.open_streams())

        await until_streams(1)
        for n in (1, 2):
            await asyncio.to_thread(host.publish, "desk.tick", {"n": n})
        await asyncio.to_thread(host.publish, "desk.other", {})
        await asyncio.to_thread(host.drop_streams)
        await asyncio.to_thread(host.publish, "desk.tick", {"n": 3})  # while it reconnects: replayed
        await until_streams(2)
        await asyncio.to_thread(host.go_down)
        await asyncio.sleep(0.2)  # connections refused meanwhile
        await asyncio.to_thread(host.publish, "desk.tick", {"n": 4})
        await asyncio.to_thread(host.come_up)
        await asyncio.to_thread(host.publish, "desk.tick", {"n": 5})
        await until_streams(3)
        await asyncio.to_thread(host.lag_streams)
        await asyncio.to_thread(host.publish, "desk.tick", {"n": 6})
        return await reader, subscription

    events, subscription = asyncio.run(scenario())
    assert [event.payload["n"] for event in events] == [1, 2, 3, 4, 5, 6]
    seqs = [event.seq for event in events]
    assert seqs == sorted(set(seqs))
    assert host.stream_queries[0] == (["desk.tick"], 1)  # since= the host's lastSeq when it subscribed
    assert [since for _, since in host.stream_queries] == [1, 3, 5, 7]  # each: the last seq it yielded
    assert subscription.reconnects == 3 and subscription.lagged == 1


def test_subscribe_yields_a_transport_gap_when_events_are_gone(host):
    for n in range(5):
        host.publish("desk.tick", {"n": n})
    host.evict(3)

    events = asyncio.run(collect(fast(client_of(host).subscribe("desk.tick", since=1)), 3))
    assert [event.kind for event in events] == ["transport.gap", "desk.tick", "desk.tick"]
    assert events[0].seq == 3 and events[0].payload["missed"] == 2
    assert [event.payload.get("n") for event in events[1:]] == [3, 4]


def test_subscribe_gives_up_on_a_refused_token(host):
    with pytest.raises(APIError, match="401"):
        asyncio.run(collect(fast(client_of(host, token="nope").subscribe(since=0)), 1))
