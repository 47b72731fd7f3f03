"""``FakeClient``'s runtime-API methods, and envelopes that carry a session."""

import asyncio

import pytest

from botyard import EventEnvelope
from botyard.runtime_api import APIError
from botyard.testing import FakeClient, make_envelope


def test_sessions_publish_and_notify_are_recorded_as_the_host_would_take_them():
    client = FakeClient("desk")

    async def scenario():
        with pytest.raises(APIError, match="no session 's-1'; create it") as missing:
            await client.publish("desk.turn", {}, session_id="s-1")
        assert missing.value.status == 404
        created = await client.create_session("s-1", agent="claude")
        again = await client.create_session("s-1")
        await client.publish("desk.turn", {"n": 1}, session_id="s-1")
        await client.notify("Hi", source="desk-relay")
        return created, again, await client.sessions(), await client.runtime()

    created, again, sessions, runtime = asyncio.run(scenario())
    assert (created.session_id, created.agent, created.created, again.created) == ("s-1", "claude", True, False)
    assert [(s.session_id, s.events) for s in sessions] == [("s-1", 1)]
    assert client.session_events == [("s-1", "desk.turn", {"n": 1})] and client.published == []
    assert client.notifications[0]["source"] == "desk-relay"
    assert runtime["lastSeq"] == 2
    assert [name for name, _ in client.calls] == ["create_session", "create_session", "sessions", "runtime"]


def test_worker_answers_from_worker_statuses_and_subscribe_from_the_stream():
    client = FakeClient("desk")
    client.worker_statuses["desk"] = {"name": "desk", "state": "running"}
    client.stream += [make_envelope("desk.fill", {"n": 1}), make_envelope("notify", {}),
                      make_envelope("desk.cancel", {"n": 2})]

    async def scenario():
        with pytest.raises(APIError, match="no worker named 'other'"):
            await client.worker("other")
        fills = [event.kind async for event in client.subscribe("desk.*")]
        after = [event.kind async for event in client.subscribe(since=client.stream[0].seq)]
        return await client.worker("desk"), fills, after

    status, fills, after = asyncio.run(scenario())
    assert status["state"] == "running"
    assert fills == ["desk.fill", "desk.cancel"] and after == ["notify", "desk.cancel"]
    assert ("subscribe", {"kinds": ("desk.*",), "since": None}) in client.calls


def test_an_envelope_carries_its_session_when_it_has_one():
    data = {"event_id": "e", "seq": 3, "timestamp": 1.5, "kind": "desk.turn", "payload": {}, "source": "w"}
    assert EventEnvelope.from_json(data).session_id is None
    assert EventEnvelope.from_json({**data, "session_id": "s-1"}).session_id == "s-1"
    assert make_envelope("desk.turn", session_id="s-2").session_id == "s-2"
