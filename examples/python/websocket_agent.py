#!/usr/bin/env python3
"""An agent on the `websockets` library speaking the gateway's plain WebSocket protocol (contract 4).

JSON text frames with a `type` at ws://HOST:PORT/gateway/connect; frames that carry an `id` are
answered by an `ack` or `error` frame with the same id. It answers requests, asks its peer one
question and exchanges a topic message with it, then exits 0. It reconnects with backoff on close
codes 4500-4599 (and network drops) and stops on 4400-4499 (terminal: revoked, unauthorized...).

    GATEWAY_URL=http://localhost:8700 AGENT_ID=py-ws AGENT_TOKEN=agt_... PEER_ID=py-sio \
        python3 examples/python/websocket_agent.py

Needs Debian's python3-websockets.
"""
import asyncio
import itertools
import json
import os
import random
import sys
import time
from urllib.parse import urlencode

import websockets

NAME = "websocket_agent"
GATEWAY_URL = os.environ.get("GATEWAY_URL", "http://localhost:8700")
AGENT_ID = os.environ["AGENT_ID"]
TOKEN = os.environ.get("AGENT_TOKEN")
PEER_ID = os.environ["PEER_ID"]
TOPIC = os.environ.get("TOPIC", "demo/news")
DEADLINE = time.monotonic() + float(os.environ.get("TIMEOUT_S", "30"))


def log(text):
    print(f"[{NAME}] {text}", flush=True)


class Terminal(Exception):
    """The gateway said not to reconnect with this credential (close code 4400-4499)."""


class Agent:
    def __init__(self):
        self.ws = None
        self.ids = itertools.count(1)
        self.pending = {}
        self.got_result = asyncio.Event()
        self.got_topic = asyncio.Event()
        self.answered_peer = asyncio.Event()
        self.online = asyncio.Event()

    async def call(self, type_, **fields):
        """Sends a frame with an id; returns its ack fields or raises on its error frame."""
        frame_id = f"f{next(self.ids)}"
        future = asyncio.get_running_loop().create_future()
        self.pending[frame_id] = future
        await self.ws.send(json.dumps({"type": type_, "id": frame_id, **fields}))
        frame = await asyncio.wait_for(future, 15)
        if frame["type"] == "error":
            raise RuntimeError(f"{frame['code']}: {frame['message']}")
        return frame

    async def read(self):
        async for raw in self.ws:
            frame = json.loads(raw)
            kind = frame["type"]
            if kind in ("ack", "error") and frame.get("id") in self.pending:
                self.pending.pop(frame["id"]).set_result(frame)
            elif kind == "error":
                log(f"error: {frame['code']}: {frame['message']}")
            elif kind == "session":
                asyncio.create_task(self.on_session(frame))
            elif kind == "message":
                asyncio.create_task(self.on_message(frame))
            elif kind == "result":
                log(f"result from {frame['from_agent_id']}: {json.dumps(frame.get('result'), sort_keys=True)}")
                if frame["from_agent_id"] == PEER_ID and frame["success"]:
                    self.got_result.set()
            elif kind == "topic_message":
                text = " ".join(p.get("text", "") for p in frame["content"] if p.get("type") == "text")
                log(f"topic {frame['topic']} from {frame['from_agent_id']}: {text}")
                if frame["from_agent_id"] == PEER_ID:
                    self.got_topic.set()
            elif kind == "session_closed":
                log(f"session closed: {frame['reason']} ({frame['message']})")

    async def on_session(self, session):
        log(f"connected as {session['agent']['agent_id']} (session {session['session_id']})")
        ack = await self.call("subscribe", topic=TOPIC)
        log(f"subscribe {TOPIC}: {ack['status']}")
        self.online.set()
        asyncio.create_task(self.heartbeats(self.ws, session["heartbeat_interval_s"]))

    async def heartbeats(self, ws, interval_s):
        # The seed's heartbeat frame: no id, so no ack is sent back.
        while ws is self.ws and ws.open:
            await asyncio.sleep(interval_s)
            await ws.send(json.dumps({"type": "heartbeat", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))

    async def on_message(self, message):
        text = " ".join(p.get("text", "") for p in message["content"] if p.get("type") == "text")
        log(f"{message['from_agent_id']} says: {text}")
        await self.call("result", conversation_id=message["conversation_id"], success=True, result={"echo": text.upper(), "by": AGENT_ID})
        if message["from_agent_id"] == PEER_ID:
            self.answered_peer.set()

    async def until(self, attempt, what):
        while True:
            if time.monotonic() > DEADLINE:
                raise TimeoutError(f"gave up waiting for {what}")
            try:
                await asyncio.wait_for(self.online.wait(), max(0.1, DEADLINE - time.monotonic()))
                if await attempt():
                    return
            except (RuntimeError, websockets.exceptions.ConnectionClosed):
                pass  # e.g. AGENT_NOT_FOUND while the peer is not connected yet, or a reconnect under way
            await asyncio.sleep(0.2)

    async def scenario(self):
        await asyncio.wait_for(self.online.wait(), max(1, DEADLINE - time.monotonic()))

        async def ask():
            ack = await self.call(
                "send", to_agent_id=PEER_ID, content=[{"type": "text", "text": f"hello from {AGENT_ID}"}], expect_result=True, timeout_ms=10000
            )
            log(f"sent to {PEER_ID}: {ack['status']}")
            return True

        await self.until(ask, f"{PEER_ID} to be online")
        await self.until(self.waiter(self.got_result), f"the result from {PEER_ID}")

        async def publish():
            ack = await self.call("publish", topic=TOPIC, content=[{"type": "text", "text": f"news from {AGENT_ID}"}])
            return ack["recipients"] >= 1

        await self.until(publish, f"a subscriber of {TOPIC}")
        await self.until(self.waiter(self.got_topic), f"the topic message from {PEER_ID}")
        await self.until(self.waiter(self.answered_peer), f"the request of {PEER_ID}")

    @staticmethod
    def waiter(event):
        async def check():
            return event.is_set()

        return check

    async def connect(self):
        query = urlencode({"agent_id": AGENT_ID, "agent_name": "Python websockets agent", "capabilities": json.dumps([])})
        uri = GATEWAY_URL.replace("http", "ws", 1).rstrip("/") + "/gateway/connect?" + query
        headers = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else {}
        # websockets 14+ renamed extra_headers to additional_headers.
        header_arg = "additional_headers" if int(websockets.__version__.split(".")[0]) >= 14 else "extra_headers"
        return await websockets.connect(uri, **{header_arg: headers}, ping_interval=None)

    async def run(self):
        scenario = asyncio.create_task(self.scenario())
        for attempt in itertools.count():
            try:
                self.ws = await self.connect()
                reader = asyncio.create_task(self.read())
                done, _ = await asyncio.wait({reader, scenario}, return_when=asyncio.FIRST_COMPLETED)
                if scenario in done:
                    reader.cancel()
                    await self.ws.close()
                    return scenario.result()
                code = self.ws.close_code
            except (OSError, websockets.exceptions.InvalidHandshake) as error:
                code = None
                log(f"connect failed: {error}")
            except websockets.exceptions.ConnectionClosed as error:
                code = error.code
            if code is not None and 4400 <= code < 4500:
                scenario.cancel()
                raise Terminal(f"closed with {code}: not reconnecting")
            self.online.clear()
            delay = random.uniform(0, min(5.0, 0.25 * 2**attempt))  # full-jitter backoff
            log(f"connection lost ({code}); reconnecting in {delay:.2f} s")
            if time.monotonic() + delay > DEADLINE:
                scenario.cancel()
                raise TimeoutError("gave up reconnecting")
            await asyncio.sleep(delay)


async def main():
    try:
        await Agent().run()
        log("done")
        return 0
    except (TimeoutError, Terminal) as error:
        log(str(error))
        return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
