"""Optional tracing (issue 16, goal 6): with AFTERSALES_OTEL_ENDPOINT set, a call-in is one
trace from the HTTP request through the Temporal client's call to the ticket's workflow and
the activities it runs, and each later step's update, handled in the workflow's trace, links
back to its request's. The spans are caught by the OpenTelemetry SDK's in-memory exporter
(where a collector would be); the API, the worker and the Temporal server are real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from core.tracing import temporal_interceptors
from tests.api.conftest import add_staff, api_settings, call_in_body, database_url_of, running_api

COLLECTOR = "http://127.0.0.1:4318/v1/traces"  # named, never reached: the spans stay in memory
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    caught = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(caught))
    trace.set_tracer_provider(provider)
    yield caught
    provider.shutdown()
    # OpenTelemetry sets its provider once a process; as its own tests do, undo it, so that the
    # tests after this module run untraced, as a deployment without an endpoint does.
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def ancestors(span: ReadableSpan, spans: list[ReadableSpan]) -> list[str]:
    """The names of `span`'s parents, nearest first, as far as `spans` has them."""
    by_id = {span_id(s): s for s in spans}
    names: list[str] = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


def named(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    (found,) = [s for s in spans if s.name == name]
    return found


async def test_a_call_in_is_one_trace_and_a_step_links_to_its_request(
    exporter: InMemorySpanExporter,
    dev_env: WorkflowEnvironment,
    engine: Engine,
    task_queue: str,
    tmp_path: Path,
) -> None:
    settings = api_settings(tmp_path, database_url_of(engine), task_queue, otel_endpoint=COLLECTOR)
    add_staff(engine)
    traced = Client(**{**dev_env.client.config(), "interceptors": temporal_interceptors(settings)})
    async with running_api(settings, engine, traced, temporal=traced) as api:
        clerk, dispatcher = await api.users("clerk1", "disp1")
        exporter.clear()
        caller = {"traceparent": f"00-{CALLER_TRACE}-b7ad6b7169203331-01"}
        answer = await clerk.post("/tickets", json=call_in_body(), headers=caller)
        assert answer.status_code == 201, answer.text
        called_in = list(exporter.get_finished_spans())
        exporter.clear()
        answer = await dispatcher.post(
            f"/tickets/{answer.json()['id']}/actions/dispatch", json={"technician": "tech1"}
        )
        assert answer.status_code == 200, answer.text
        dispatched = list(exporter.get_finished_spans())

    # The call-in: the caller's trace goes on through the request, the workflow's start and
    # the ticket's registration.
    request = named(called_in, "POST /tickets")
    assert request.context is not None
    assert f"{request.context.trace_id:032x}" == CALLER_TRACE
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == 201
    registration = named(called_in, "RunActivity:register_ticket")
    assert ancestors(registration, called_in)[-3:] == [
        "StartUpdateWithStartWorkflow:Ticket",
        "fastapi.endpoint",
        "POST /tickets",
    ]
    run = named(called_in, "RunWorkflow:Ticket")
    assert run.context is not None and run.context.trace_id == request.context.trace_id

    # A step: its request's span holds the client's update; the workflow handles the update
    # (and projects the step) in its own trace, linked to that update.
    step = named(dispatched, "POST /tickets/{ticket_id}/actions/{action}")
    update = named(dispatched, "StartWorkflowUpdate:act")
    assert "POST /tickets/{ticket_id}/actions/{action}" in ancestors(update, dispatched)
    handled = named(dispatched, "HandleUpdate:act")
    assert [link.context.span_id for link in handled.links] == [span_id(update)]
    projection = named(dispatched, "RunActivity:project_step")
    assert projection.context is not None and handled.context is not None
    assert projection.context.trace_id == handled.context.trace_id
    assert step.context is not None and step.context.trace_id != handled.context.trace_id
