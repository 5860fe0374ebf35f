"""Operations (issue 16, goal 6; docs/operations.md): the API's /metrics answers the operator
only, counts requests by route and reads the open work from the read model; a worker serves
the Temporal SDK's metrics where told; JSON log lines name the ticket they are about."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput

from activities.ticket_logs import TicketLogs
from core.config import Settings
from core.logs import log_handler
from tests.api.conftest import (
    Api,
    add_staff,
    api_settings,
    call_in_body,
    database_url_of,
    running_api,
)
from tests.ports import free_port
from tests.workers import temporal_address, worker_processes

METRICS_TOKEN = "operators-metrics-token-0123456789"
WORKER_METRIC = "temporal_worker_task_slots_available"
OPERATOR = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@asynccontextmanager
async def metrics_api(
    dev_env: WorkflowEnvironment, engine: Engine, task_queue: str, tmp_path: Path, **settings: Any
) -> AsyncIterator[Api]:
    add_staff(engine)
    config = api_settings(tmp_path, database_url_of(engine), task_queue, **settings)
    async with running_api(config, engine, dev_env.client, temporal=dev_env.client) as api:
        yield api


def samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def call_ins(found: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> float:
    labels = frozenset({"method": "POST", "route": "/tickets", "status": "2xx"}.items())
    return found.get(("aftersales_http_requests_total", labels), 0.0)


async def test_without_a_token_metrics_are_for_this_machine_only(
    dev_env: WorkflowEnvironment, engine: Engine, task_queue: str, tmp_path: Path
) -> None:
    async with metrics_api(dev_env, engine, task_queue, tmp_path) as api:
        local = await api.anonymous.get("/metrics")
        assert local.status_code == 200
        assert local.headers["content-type"].startswith("text/plain")
        # Through a proxy the client is elsewhere, whatever address the API sees.
        proxied = await api.anonymous.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status_code == 404
        schema = (await api.anonymous.get("/openapi.json")).json()
        assert "/metrics" not in schema["paths"]


async def test_with_a_token_metrics_answer_its_bearer_and_count_the_open_work(
    dev_env: WorkflowEnvironment, engine: Engine, task_queue: str, tmp_path: Path
) -> None:
    async with metrics_api(
        dev_env, engine, task_queue, tmp_path, metrics_token=METRICS_TOKEN
    ) as api:
        assert (await api.anonymous.get("/metrics")).status_code == 401
        wrong = {"Authorization": "Bearer not-the-operators-token-at-all"}
        assert (await api.anonymous.get("/metrics", headers=wrong)).status_code == 401
        before = samples((await api.anonymous.get("/metrics", headers=OPERATOR)).text)
        assert before[("aftersales_read_model_up", frozenset())] == 1

        clerk = await api.as_user("clerk1")
        answer = await clerk.post("/tickets", json=call_in_body())
        assert answer.status_code == 201, answer.text

        scrape = await api.anonymous.get("/metrics", headers=OPERATOR)
        assert scrape.status_code == 200
        after = samples(scrape.text)
        assert call_ins(after) == call_ins(before) + 1
        registered = frozenset({"status": "registered"}.items())
        assert after[("aftersales_open_tickets", registered)] == 1
        assert after[("aftersales_outbox_oldest_pending_seconds", frozenset())] >= 0
        # A path's ids never become labels: the label is the route's template.
        routes = {dict(labels).get("route") for _, labels in after}
        assert not any(route and answer.json()["id"] in route for route in routes)


async def test_a_worker_serves_the_sdk_metrics_where_told(
    dev_env: WorkflowEnvironment, engine: Engine, task_queue: str, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{free_port()}"
    with worker_processes(tmp_path, engine, task_queue, worker_metrics_address=address) as spawn:
        spawn("worker", temporal_address(dev_env))
        deadline = time.monotonic() + 20
        text = ""
        # The client's request counts come first; the worker's own once it polls.
        async with httpx.AsyncClient(timeout=1) as prometheus:
            while WORKER_METRIC not in text and time.monotonic() < deadline:
                try:
                    text = (await prometheus.get(f"http://{address}/metrics")).text
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        assert WORKER_METRIC in text


async def test_json_log_lines_name_the_ticket_of_a_step(
    dev_env: WorkflowEnvironment, engine: Engine, task_queue: str, tmp_path: Path
) -> None:
    lines = io.StringIO()
    handler = log_handler("json", lines)
    access = logging.getLogger("uvicorn.access")
    async with metrics_api(dev_env, engine, task_queue, tmp_path) as api:
        clerk, dispatcher = await api.users("clerk1", "disp1")
        answer = await clerk.post("/tickets", json=call_in_body())
        ticket_id = answer.json()["id"]
        access.addHandler(handler)
        try:
            step = await dispatcher.post(
                f"/tickets/{ticket_id}/actions/dispatch", json={"technician": "tech1"}
            )
        finally:
            access.removeHandler(handler)
        assert step.status_code == 200, step.text
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    (dispatch,) = [r for r in records if "/actions/dispatch" in r["message"]]
    assert dispatch["ticket_id"] == ticket_id
    assert {"time", "level", "logger", "message"} <= dispatch.keys()


class _LogsWhatItDoes(ActivityInboundInterceptor):
    def __init__(self) -> None:
        pass

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        logging.getLogger("aftersales.test").warning("projected step to 13800001234")


async def test_an_activity_on_a_ticket_logs_its_id_and_masks_the_rest() -> None:
    lines = io.StringIO()
    logger = logging.getLogger("aftersales.test")
    logger.addHandler(handler := log_handler("json", lines))
    try:
        projection = SimpleNamespace(state=SimpleNamespace(ticket_id="t-42"))
        activity = TicketLogs().intercept_activity(_LogsWhatItDoes())
        await activity.execute_activity(ExecuteActivityInput(print, [projection], None, {}))
    finally:
        logger.removeHandler(handler)
    (line,) = [json.loads(text) for text in lines.getvalue().splitlines()]
    assert line["ticket_id"] == "t-42"
    assert line["message"] == "projected step to *******1234"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("metrics_token", "short"),  # a guessable token opens the door
        ("worker_metrics_address", "9464"),  # no host: which interface?
        ("worker_metrics_address", "0.0.0.0:http"),
        ("log_format", "xml"),
    ],
)
def test_operations_settings_refuse_a_bad_value(setting: str, value: str) -> None:
    with pytest.raises(ValidationError, match=setting):
        Settings(_env_file=None, **{setting: value})  # type: ignore[call-arg, arg-type]


def test_empty_operations_settings_mean_off() -> None:
    settings = Settings(_env_file=None, metrics_token="", worker_metrics_address="")  # type: ignore[call-arg]
    assert settings.metrics_token is None and settings.worker_metrics_address is None
