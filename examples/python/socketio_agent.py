#!/usr/bin/env python3
"""An agent on python-socketio (contract section 3): the gateway's socket.io namespace `/gateway`.

It answers requests from other agents, asks its peer one question, and exchanges a topic message
with it, then exits 0. Run it next to websocket_agent.py (or another copy of itself):

    GATEWAY_URL=http://localhost:8700 AGENT_ID=py-sio AGENT_TOKEN=agt_... PEER_ID=py-ws \
        python3 examples/python/socketio_agent.py

Needs Debian's python3-socketio and python3-websocket (the websocket transport of the client).
"""
import json
import os
import sys
import threading
import time

import socketio

NAME = "socketio_agent"
NS = "/gateway"
GATEWAY_URL = os.environ.get("GATEWAY_URL", "http://localhost:8700")
AGENT_ID = os.environ["AGENT_ID"]
TOKEN = os.environ.get("AGENT_TOKEN")
PEER_ID = os.environ["PEER_ID"]
TOPIC = os.environ.get("TOPIC", "demo/news")
DEADLINE = time.monotonic() + float(os.environ.get("TIMEOUT_S", "30"))
# Connect errors after which retrying with the same credential cannot help.
TERMINAL_CODES = {"UNAUTHORIZED", "FORBIDDEN", "INVALID_MESSAGE"}

got_result = threading.Event()
got_topic = threading.Event()
answered_peer = threading.Event()
stop = threading.Event()
heartbeat_interval_s = [30]


def log(text):
    print(f"[{NAME}] {text}", flush=True)


sio = socketio.Client(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=5)


@sio.on("session", namespace=NS)
def on_session(session):
    heartbeat_interval_s[0] = session["heartbeat_interval_s"]
    log(f"connected as {session['agent']['agent_id']} (session {session['session_id']})")
    # Subscriptions belong to a session: (re)subscribe on every session.
    ack = sio.call("subscribe", {"topic": TOPIC}, namespace=NS, timeout=10)
    log(f"subscribe {TOPIC}: {ack.get('status', ack)}")


@sio.on("connect_error", namespace=NS)
def on_connect_error(data):
    code = data.get("code") if isinstance(data, dict) else None
    log(f"connect refused: {data}")
    if code in TERMINAL_CODES:
        stop.set()


@sio.on("session_closed", namespace=NS)
def on_session_closed(event):
    log(f"session closed: {event['reason']} ({event['message']})")
    if not event["reconnect"]:
        stop.set()


@sio.on("message", namespace=NS)
def on_message(message):
    """Acknowledges at once (the return value is the ack); answers in the background if asked."""
    text = " ".join(part.get("text", "") for part in message["content"] if part.get("type") == "text")
    log(f"{message['from_agent_id']} says: {text}")
    sio.start_background_task(answer, message, text)
    return {"status": "received"}


def answer(message, text):
    result = {"echo": text.upper(), "by": AGENT_ID}
    ack = sio.call(
        "result",
        {"conversation_id": message["conversation_id"], "success": True, "result": result},
        namespace=NS,
        timeout=10,
    )
    if "error" in ack:
        log(f"result refused: {ack['error']}")
        return
    if message["from_agent_id"] == PEER_ID:
        answered_peer.set()


@sio.on("result", namespace=NS)
def on_result(result):
    log(f"result from {result['from_agent_id']}: {json.dumps(result.get('result'), sort_keys=True)}")
    if result["from_agent_id"] == PEER_ID and result["success"]:
        got_result.set()


@sio.on("topic_message", namespace=NS)
def on_topic_message(message):
    text = " ".join(part.get("text", "") for part in message["content"] if part.get("type") == "text")
    log(f"topic {message['topic']} from {message['from_agent_id']}: {text}")
    if message["from_agent_id"] == PEER_ID:
        got_topic.set()


def heartbeats():
    while not stop.wait(heartbeat_interval_s[0]):
        if sio.connected:
            sio.emit("heartbeat", {}, namespace=NS)


def until(condition, what):
    while not condition():
        if stop.is_set() or time.monotonic() > DEADLINE:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.2)


def main():
    auth = {"agent_id": AGENT_ID, **({"token": TOKEN} if TOKEN else {})}
    sio.connect(GATEWAY_URL, auth=auth, namespaces=[NS], transports=["websocket"], wait_timeout=10)
    threading.Thread(target=heartbeats, daemon=True).start()
    try:
        # Ask the peer; it may not be connected yet (AGENT_NOT_FOUND): try again shortly.
        def ask():
            ack = sio.call(
                "send",
                {
                    "to_agent_id": PEER_ID,
                    "content": [{"type": "text", "text": f"hello from {AGENT_ID}"}],
                    "expect_result": True,
                    "timeout_ms": 10000,
                },
                namespace=NS,
                timeout=15,
            )
            if "error" in ack:
                return False
            log(f"sent to {PEER_ID}: {ack['status']}")
            return True

        until(ask, f"{PEER_ID} to be online")
        until(got_result.is_set, f"the result from {PEER_ID}")

        # Publish until the peer is subscribed (recipients counts it).
        def publish():
            ack = sio.call(
                "publish",
                {"topic": TOPIC, "content": [{"type": "text", "text": f"news from {AGENT_ID}"}]},
                namespace=NS,
                timeout=10,
            )
            return ack.get("recipients", 0) >= 1

        until(publish, f"a subscriber of {TOPIC}")
        until(got_topic.is_set, f"the topic message from {PEER_ID}")
        until(answered_peer.is_set, f"the request of {PEER_ID}")
        log("done")
        return 0
    except TimeoutError as error:
        log(str(error))
        return 1
    finally:
        stop.set()
        sio.disconnect()


if __name__ == "__main__":
    sys.exit(main())
