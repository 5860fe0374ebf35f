"""Optional OpenTelemetry tracing (`AFTERSALES_OTEL_ENDPOINT`, docs/operations.md). FastAPI
spans each request (continuing a caller's `traceparent`) once a tracer provider is set; the
Temporal client's calls made while answering are its children and carry the span in
Temporal's headers to the workers: a call-in's trace goes on through the ticket's workflow
and the activities it runs, and each later step's update is linked to its request."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.contrib.opentelemetry import TracingInterceptor

from core.config import Settings


def start_tracing(settings: Settings, service: str) -> None:
    """Sends this process's spans, as `service`, to the configured endpoint, if there is one."""
    if settings.otel_endpoint is None:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(settings.otel_endpoint)))
    trace.set_tracer_provider(provider)


def temporal_interceptors(settings: Settings) -> list[TracingInterceptor]:
    """A Temporal client's interceptors: with tracing, its calls carry the current span to
    the workflows, and the workers that use the client trace what they run."""
    return [TracingInterceptor()] if settings.otel_endpoint is not None else []
