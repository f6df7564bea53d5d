"""The plain WebSocket protocol (contract §4) as data: URLs, content parts and frames."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

#: The path of the plain WebSocket transport on the agent plane.
WEBSOCKET_PATH = "/gateway/connect"

ContentPart = dict[str, Any]


class FrameError(ValueError):
    """A frame from the gateway that is not a JSON object with a string ``type``."""


def connect_url(
    gateway_url: str,
    agent_id: str,
    agent_name: str | None = None,
    capabilities: Iterable[str] | None = None,
    *,
    query_token: str | None = None,
) -> str:
    """The ``ws(s)://…/gateway/connect?agent_id=…`` URL for a gateway base URL.

    ``gateway_url`` may be ``ws://``, ``wss://``, ``http://`` or ``https://``, with or without the
    ``/gateway/connect`` path. ``query_token`` puts the token in the query string, for gateways
    that must be reached without headers (discouraged: it may land in proxy logs).
    """
    parts = urlsplit(gateway_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        raise ValueError(f"gateway_url must be ws://, wss://, http:// or https:// with a host, not {gateway_url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith(WEBSOCKET_PATH):
        path += WEBSOCKET_PATH
    query: dict[str, str] = {"agent_id": agent_id}
    if agent_name is not None:
        query["agent_name"] = agent_name
    if capabilities is not None:
        query["capabilities"] = json.dumps(list(capabilities))
    if query_token is not None:
        query["token"] = query_token
    return urlunsplit((scheme, parts.netloc, path, urlencode(query), ""))


def content_parts(content: Any) -> list[ContentPart]:
    """The ``content`` of a ``send`` or ``publish``: a str is a text part, a dict a data part.

    A list is taken as the parts themselves (``[{"type": "text", "text": "hi"}, …]``); any other
    JSON value becomes one data part.
    """
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        for part in content:
            if not (isinstance(part, Mapping) and part.get("type") in ("text", "data")):
                raise ValueError('a list content must hold parts: {"type": "text", "text": …} or {"type": "data", "data": …}')
        return [dict(part) for part in content]
    return [{"type": "data", "data": content}]


def encode_frame(frame_type: str, frame_id: str | int | None = None, **fields: Any) -> str:
    """One client frame as JSON text; fields that are None are left out."""
    frame: dict[str, Any] = {"type": frame_type}
    if frame_id is not None:
        frame["id"] = frame_id
    frame.update((key, value) for key, value in fields.items() if value is not None)
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def parse_frame(raw: str | bytes) -> dict[str, Any]:
    """A server frame as a dict; raises :class:`FrameError` on anything else."""
    if isinstance(raw, bytes):
        raise FrameError("binary frame: the gateway sends JSON text frames")
    try:
        frame = json.loads(raw)
    except json.JSONDecodeError as error:
        raise FrameError(f"frame is not valid JSON: {error.msg}") from None
    if not isinstance(frame, dict):
        raise FrameError("frame is not a JSON object")
    if not isinstance(frame.get("type"), str):
        raise FrameError('frame has no string "type"')
    return frame


def utc_now() -> str:
    """An ISO-8601 UTC timestamp, as the wire carries them."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(value: Any) -> datetime | None:
    """A wire timestamp (``…Z`` or with an offset) as an aware datetime, or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _text_of(content: Any) -> str:
    if not isinstance(content, list):
        return ""
    return " ".join(p["text"] for p in content if isinstance(p, Mapping) and p.get("type") == "text" and isinstance(p.get("text"), str))


def _data_of(content: Any) -> Any:
    if isinstance(content, list):
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "data":
                return part.get("data")
    return None


class Message(dict[str, Any]):
    """A ``message`` frame: the dict of the wire (``message["content"]``…) with shortcuts."""

    @property
    def conversation_id(self) -> str:
        return str(self.get("conversation_id", ""))

    @property
    def from_agent_id(self) -> str:
        return str(self.get("from_agent_id", ""))

    @property
    def content(self) -> list[ContentPart]:
        content = self.get("content")
        return content if isinstance(content, list) else []

    @property
    def text(self) -> str:
        """The text parts, joined by spaces ("" when there are none)."""
        return _text_of(self.get("content"))

    @property
    def data(self) -> Any:
        """The first data part's ``data`` (None when there is none)."""
        return _data_of(self.get("content"))

    @property
    def expect_result(self) -> bool:
        """Whether the sender waits for a ``result`` (the gateway's extension of the seed's frame)."""
        return self.get("expect_result") is True


class TopicMessage(Message):
    """A ``topic_message`` frame."""

    @property
    def topic(self) -> str:
        return str(self.get("topic", ""))
