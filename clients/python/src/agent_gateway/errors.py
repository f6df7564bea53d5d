"""Errors of the SDK: one exception, :class:`GatewayError`, with the contract's ``code``."""

from __future__ import annotations

from typing import Any, Final, Mapping

#: The codes of contract §6 and the gateway's extensions, plus the SDK's ``AGENT_ERROR`` (a
#: handler raised). Switch on ``GatewayError.code``, never on the message text.
ERROR_CODES: Final = frozenset(
    {
        "UNAUTHORIZED",
        "FORBIDDEN",
        "AGENT_NOT_FOUND",
        "INVALID_MESSAGE",
        "PAYLOAD_TOO_LARGE",
        "RATE_LIMIT",
        "TIMEOUT",
        "UNAVAILABLE",
        "LIMIT_EXCEEDED",
        "NOT_FOUND",
        "CONFLICT",
        "AGENT_ERROR",
    }
)

#: Refusals at connect time after which reconnecting with the same credential cannot help.
TERMINAL_CONNECT_CODES: Final = frozenset({"UNAUTHORIZED", "FORBIDDEN", "INVALID_MESSAGE", "PAYLOAD_TOO_LARGE"})


class GatewayError(Exception):
    """A refusal by the gateway, a failed or timed-out request, or the client not being connected.

    ``code`` is one of :data:`ERROR_CODES`; ``reason`` is the gateway's machine-readable detail
    (``UNAUTHORIZED`` always has one, e.g. ``unknown_token``); ``retry_after_ms`` says when a
    ``RATE_LIMIT`` may be retried; ``request_id`` is the correlation id to quote to an operator.

    Example::

        try:
            await client.request("other-agent", "hello", timeout=5)
        except GatewayError as error:
            if error.code == "TIMEOUT":
                ...
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        reason: str | None = None,
        retry_after_ms: int | None = None,
        request_id: str | None = None,
        close_code: int | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reason = reason
        self.retry_after_ms = retry_after_ms
        self.request_id = request_id
        #: The WebSocket close code when the refusal closed the connection.
        self.close_code = close_code
        #: The raw error object (of an ``error`` frame, or of a failed ``result``).
        self.details = details

    @classmethod
    def from_frame(cls, frame: Mapping[str, Any], close_code: int | None = None) -> "GatewayError":
        """The error of an ``error`` frame (``{type: "error", id?, code, message, retry_after_ms?, reason?, request_id}``)."""
        code = frame.get("code")
        message = frame.get("message")
        retry = frame.get("retry_after_ms")
        reason = frame.get("reason")
        request_id = frame.get("request_id")
        return cls(
            code if isinstance(code, str) and code else "UNAVAILABLE",
            message if isinstance(message, str) else "refused by the gateway",
            reason=reason if isinstance(reason, str) else None,
            retry_after_ms=retry if isinstance(retry, int) and not isinstance(retry, bool) else None,
            request_id=request_id if isinstance(request_id, str) else None,
            close_code=close_code,
            details=dict(frame),
        )

    @classmethod
    def from_result_error(cls, error: Any) -> "GatewayError":
        """The error of a ``result`` with ``success: false``.

        The gateway's own errors (``TIMEOUT``…) and the SDKs' (``AGENT_ERROR``) are
        ``{code, message}``; an agent may also answer a bare string or any JSON, which becomes
        ``AGENT_ERROR`` with that text.
        """
        if isinstance(error, Mapping):
            code = error.get("code")
            message = error.get("message")
            return cls(
                code if isinstance(code, str) and code else "AGENT_ERROR",
                message if isinstance(message, str) else "the agent answered with a failure",
                reason=error.get("reason") if isinstance(error.get("reason"), str) else None,
                details=error,
            )
        if isinstance(error, str) and error:
            return cls("AGENT_ERROR", error, details=error)
        return cls("AGENT_ERROR", "the agent answered with a failure", details=error)

    @property
    def terminal_at_connect(self) -> bool:
        """True when this refusal of a connect means: do not retry with the same credential."""
        if self.close_code is not None:
            return is_terminal_close_code(self.close_code)
        return self.code in TERMINAL_CONNECT_CODES


def is_terminal_close_code(code: int | None) -> bool:
    """The rule of docs/protocol.md: close codes 4400–4499 are terminal, 4500–4599 are retried."""
    return code is not None and 4400 <= code < 4500


#: Close code of ``expired``: terminal unless the client can fetch a fresh token (a token callable).
EXPIRED_CLOSE_CODE: Final = 4440
