"""W3C trace context in message metadata (contract §3, ``metadata.trace``).

The gateway continues the trace a message carries in ``metadata.trace`` (``{"traceparent": …,
"tracestate": …}``) and hands the recipient the context of its delivery span there. This module
fills it in for outgoing messages and results:

* an explicit ``trace=`` argument (a dict, or a ``traceparent`` string) always works;
* otherwise, when the ``opentelemetry`` package (``opentelemetry-api``) is importable and the
  application has an active span and a propagator, its context is injected;
* otherwise nothing is added.

``opentelemetry`` is optional: the SDK never requires it.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator, Mapping, Union

TraceArgument = Union[Mapping[str, str], str, None]

_TRACEPARENT = re.compile(r"^(?!ff)([0-9a-f]{2})-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}(-[\x21-\x7e]*)?$")
#: The longest ``tracestate`` the gateway accepts.
MAX_TRACESTATE_LENGTH = 512


def is_traceparent(value: object) -> bool:
    """Whether ``value`` is a valid W3C ``traceparent`` (version 00 has exactly four fields)."""
    if not isinstance(value, str):
        return False
    match = _TRACEPARENT.match(value)
    return bool(match) and (match.group(1) != "00" or match.group(2) is None)


def trace_context(trace: TraceArgument) -> dict[str, str] | None:
    """``trace`` as ``metadata.trace``; raises ValueError for an invalid one (the gateway would refuse it)."""
    if trace is None:
        return None
    if isinstance(trace, str):
        trace = {"traceparent": trace}
    traceparent = trace.get("traceparent")
    if not is_traceparent(traceparent):
        raise ValueError("trace must carry a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)")
    out = {"traceparent": str(traceparent)}
    tracestate = trace.get("tracestate")
    if tracestate:
        if len(tracestate) > MAX_TRACESTATE_LENGTH:
            raise ValueError(f"tracestate is longer than {MAX_TRACESTATE_LENGTH} characters")
        out["tracestate"] = tracestate
    return out


def active_trace_context() -> dict[str, str] | None:
    """The context of the application's active OpenTelemetry span, if ``opentelemetry`` is importable and one is active."""
    try:
        from opentelemetry import propagate  # type: ignore[import-not-found]
    except ImportError:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    if not is_traceparent(carrier.get("traceparent")):
        return None
    out = {"traceparent": carrier["traceparent"]}
    state = carrier.get("tracestate")
    if state and len(state) <= MAX_TRACESTATE_LENGTH:
        out["tracestate"] = state
    return out


def with_trace(metadata: dict[str, Any] | None, trace: TraceArgument = None) -> dict[str, Any] | None:
    """``metadata`` with ``trace``: as given in it, else the explicit argument, else the active OpenTelemetry context."""
    if metadata is not None and "trace" in metadata:
        return metadata
    context = trace_context(trace) if trace is not None else active_trace_context()
    if context is None:
        return metadata
    return {**(metadata or {}), "trace": context}


@contextlib.contextmanager
def message_context(metadata: Mapping[str, Any]) -> Iterator[None]:
    """Runs the block in the OpenTelemetry context a delivered message carries (when ``opentelemetry`` is importable)."""
    trace = metadata.get("trace")
    if not isinstance(trace, Mapping) or not is_traceparent(trace.get("traceparent")):
        yield
        return
    try:
        from opentelemetry import context as otel_context  # type: ignore[import-not-found]
        from opentelemetry import propagate
    except ImportError:
        yield
        return
    token = otel_context.attach(propagate.extract(dict(trace)))
    try:
        yield
    finally:
        otel_context.detach(token)
