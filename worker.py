"""The Temporal side of a process: the client every process shares, and the worker that runs
the ticket workflows and their activities."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from pydantic import TypeAdapter
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import (
    PydanticJSONPlainPayloadConverter,
    PydanticPayloadConverter,
    pydantic_data_converter,
)
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.billing import BillingActivities
from activities.complaint import ComplaintActivities
from activities.notify import NotifyActivities, senders_from
from activities.projection import ProjectionActivities
from activities.reports import ReportActivities
from activities.stock import StockActivities
from activities.survey import SurveyActivities
from activities.ticket_logs import TicketLogs
from core.codec import codec_from_setting
from core.config import Settings
from core.db import make_engine, migrate
from core.security import status_link
from core.tracing import temporal_interceptors
from jobs.contracts import start_missing
from jobs.reports import start_branches
from models.policy import Policy, load_policy
from store.files import file_store
from workflows.branch_reports import BranchReportsWorkflow
from workflows.complaint import ComplaintWorkflow
from workflows.contract import ContractWorkflow
from workflows.customer_notices import CustomerMessageWorkflow
from workflows.daily_report import DailyReportWorkflow
from workflows.survey import SurveyWorkflow
from workflows.ticket import SEARCH_ATTRIBUTE_KEYS, TicketWorkflow

log = logging.getLogger("aftersales.worker")

# Pure modules the workflows import, shared with the host instead of re-imported per sandbox.
PASSTHROUGH_MODULES = ("models", "transitions", "pydantic", "pydantic_core", "opentelemetry")
_TYPE_ADAPTERS = functools.lru_cache(maxsize=1024)(TypeAdapter)


class PayloadConverter(PydanticPayloadConverter):
    """Pydantic payloads with one type-adapter cache for the whole process: the workflow
    sandbox makes a converter for every workflow instance, and building the adapter of a
    ticket's input again each time costs milliseconds of CPU."""

    def __init__(self) -> None:
        super().__init__()
        for converter in self.converters.values():
            if isinstance(converter, PydanticJSONPlainPayloadConverter):
                converter._type_adapter = _TYPE_ADAPTERS


DATA_CONVERTER = dataclasses.replace(
    pydantic_data_converter, payload_converter_class=PayloadConverter
)


def data_converter(settings: Settings) -> DataConverter:
    """DATA_CONVERTER, with every payload encrypted when `payload_keys` is set (core/codec.py);
    failure messages and stack traces then travel as an encrypted payload too."""
    codec = codec_from_setting(settings.payload_keys)
    if codec is None:
        return DATA_CONVERTER
    return dataclasses.replace(
        DATA_CONVERTER,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def sandbox_runner() -> SandboxedWorkflowRunner:
    """The workflow sandbox, with our pure modules passed through."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def metrics_runtime(address: str) -> Runtime:
    """An SDK runtime serving the Temporal SDK's own metrics (task latencies, sticky cache,
    slots, polls) on `address` in Prometheus text format, durations in seconds."""
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=address, durations_as_seconds=True)
        )
    )


async def connect(
    settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    """A client for the configured Temporal server (embedded, cluster or cloud); a lazy one
    connects on first use, so the API can start before Temporal answers. Its workers report
    to `runtime`'s telemetry (the process's default: none)."""
    tls: TLSConfig | bool = settings.temporal_tls or bool(settings.temporal_api_key)
    if settings.temporal_tls_client_cert and settings.temporal_tls_client_key:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_client_cert.read_bytes(),
            client_private_key=settings.temporal_tls_client_key.read_bytes(),
        )
    return await Client.connect(
        settings.resolved_temporal_address,
        namespace=settings.temporal_namespace,
        tls=tls,
        api_key=settings.temporal_api_key,
        data_converter=data_converter(settings),
        interceptors=temporal_interceptors(settings),
        lazy=lazy,
        runtime=runtime,
    )


def build_worker(
    client: Client,
    engine: Engine,
    task_queue: str,
    *,
    max_concurrent_workflow_tasks: int = 8,
    max_concurrent_activities: int = 32,
    settings: Settings | None = None,
    policy: Policy | None = None,
) -> Worker:
    settings = settings or Settings()
    policy = policy or load_policy(settings.policy_file)
    projection = ProjectionActivities(engine)
    billing = BillingActivities(engine)
    complaint = ComplaintActivities(engine)
    survey = SurveyActivities(engine, settings)
    link = functools.partial(
        status_link, public_url=settings.resolved_public_url, key=settings.signing_key()
    )
    notify = NotifyActivities(engine, senders_from(settings), file_store(settings), link)
    stock = StockActivities(engine)
    reports = ReportActivities(engine, policy)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[
            TicketWorkflow,
            ComplaintWorkflow,
            SurveyWorkflow,
            ContractWorkflow,
            BranchReportsWorkflow,
            DailyReportWorkflow,
            CustomerMessageWorkflow,
        ],
        activities=[
            projection.register_ticket,
            projection.project_step,
            billing.issue_invoice,
            complaint.register_complaint,
            complaint.project_complaint,
            survey.project_survey,
            survey.issue_card,
            survey.compose,
            survey.complaint_number,
            notify.send_message,
            notify.notify_escalation,
            notify.notify_staff,
            notify.notify_customer,
            stock.issue_stock,
            stock.return_stock,
            stock.price_parts,
            stock.count_discount,
            reports.plan_report_day,
            reports.draft_daily_report,
            reports.project_daily_report,
        ],
        activity_executor=ThreadPoolExecutor(max_concurrent_activities),
        max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=timedelta(seconds=10),
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_local_activities=max_concurrent_activities,
        workflow_runner=sandbox_runner(),
        interceptors=[TicketLogs()],
    )


async def register_search_attributes(client: Client) -> None:
    """Registers the tickets' search attributes on the client's namespace (R16 and issue 3:
    the Web UI filters by them); already registered ones are left alone."""
    wanted = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
        for key in SEARCH_ATTRIBUTE_KEYS
    }
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        missing = {k: v for k, v in wanted.items() if k not in listed.custom_attributes}
    except RPCError as error:
        if error.status != RPCStatusCode.UNIMPLEMENTED:  # the time-skipping test server
            raise
        missing = wanted
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )


async def run_worker(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    address = settings.worker_metrics_address
    client = await connect(settings, runtime=metrics_runtime(address) if address else None)
    if address:
        log.info("worker serving the Temporal SDK's metrics on http://%s/metrics", address)
    try:
        await register_search_attributes(client)
    except RPCError as refused:  # e.g. Temporal Cloud, where an operator registers them
        log.warning(
            "could not register search attributes (%s); register %s yourself",
            refused.message,
            ", ".join(k.name for k in SEARCH_ATTRIBUTE_KEYS),
        )
    policy = load_policy(settings.policy_file)
    await start_missing(client, engine, policy, settings.task_queue)
    await start_branches(client, policy, settings.task_queue)
    worker = build_worker(
        client,
        engine,
        settings.task_queue,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        settings=settings,
        policy=policy,
    )
    log.info(
        "worker polling task queue %r on %s",
        settings.task_queue,
        settings.resolved_temporal_address,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with worker:
        await stop.wait()
        log.info("worker stopping: finishing the tasks in hand")
