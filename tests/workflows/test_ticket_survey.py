"""Every resolved ticket gets its survey card, and only those (R22): the card outlives its
ticket; cancelled tickets and internal jobs get none. On a time-skipping server of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from models.entitlement import ServiceType
from models.lifecycle import Status
from models.survey import SurveyAnswer, SurveyState, SurveyStatus
from models.ticket import SurveyTerms, TicketStart
from tests.conftest import time_skipping_server
from tests.workflows.builders import RESOLVE_FREE, act, register, ticket_start
from worker import build_worker
from workflows.survey import SurveyWorkflow
from workflows.ticket import TicketWorkflow

TERMS = SurveyTerms(delay_hours=24, reminder_hours=48, expiry_hours=168)


@pytest.fixture
async def env(engine: Engine, task_queue: str) -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as env, build_worker(env.client, engine, task_queue):
        yield env


async def resolved(env: WorkflowEnvironment, task_queue: str, start: TicketStart) -> str:
    await register(env.client, start, task_queue)
    handle = env.client.get_workflow_handle_for(TicketWorkflow.run, f"ticket-{start.ticket_id}")
    await handle.execute_update(
        TicketWorkflow.act, act("dispatch", "d", ["dispatcher"], technician="tech1")
    )
    await handle.execute_update(TicketWorkflow.act, act("arrive", "tech1", ["technician"]))
    await handle.execute_update(
        TicketWorkflow.act, act("resolve", "tech1", ["technician"], **RESOLVE_FREE)
    )
    assert (await handle.result()).status == Status.CLOSED
    return start.ticket_id


def survey(env: WorkflowEnvironment, ticket_id: str) -> WorkflowHandle[SurveyWorkflow, SurveyState]:
    return env.client.get_workflow_handle_for(SurveyWorkflow.run, f"survey-{ticket_id}")


async def sent(handle: WorkflowHandle[SurveyWorkflow, SurveyState]) -> SurveyStatus:
    """The survey's status once it has left `scheduled` (the worker takes what the skipped
    clock set off), or `scheduled` after five seconds."""
    for _ in range(100):
        state = await handle.query(SurveyWorkflow.state_query)
        if state.status != SurveyStatus.SCHEDULED:
            break
        await asyncio.sleep(0.05)
    return state.status


async def test_a_closed_tickets_survey_completes_after_the_ticket_has_ended(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    ticket_id = await resolved(
        env, task_queue, replace(ticket_start(uuid.uuid4().hex), survey=TERMS)
    )
    ticket = await env.client.get_workflow_handle(f"ticket-{ticket_id}").describe()
    assert ticket.status == WorkflowExecutionStatus.COMPLETED  # closed: nothing to pay
    card = survey(env, ticket_id)
    assert (await card.query(SurveyWorkflow.state_query)).status == SurveyStatus.SCHEDULED

    await env.sleep(timedelta(hours=24, minutes=1))  # R22: the next day
    assert await sent(card) == SurveyStatus.SENT
    answered = await card.execute_update(
        SurveyWorkflow.answer, SurveyAnswer(attitude=4, skill=4, arrival_time=3, promise_keeping=4)
    )
    assert answered.status == SurveyStatus.ANSWERED
    assert (await card.result()).status == SurveyStatus.ANSWERED


async def test_cancelled_tickets_and_internal_jobs_get_no_card(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    cancelled = replace(ticket_start(uuid.uuid4().hex), survey=TERMS)
    await register(env.client, cancelled, task_queue)
    handle = env.client.get_workflow_handle_for(TicketWorkflow.run, f"ticket-{cancelled.ticket_id}")
    await handle.execute_update(TicketWorkflow.act, act("cancel", "c", ["clerk"], reason="fixed"))
    assert (await handle.result()).status == Status.CANCELLED

    internal = replace(
        ticket_start(uuid.uuid4().hex), survey=TERMS, service_type=ServiceType.INTERNAL.value
    )
    await resolved(env, task_queue, internal)

    for ticket_id in (cancelled.ticket_id, internal.ticket_id):
        with pytest.raises(RPCError) as missing:
            await survey(env, ticket_id).describe()
        assert missing.value.status == RPCStatusCode.NOT_FOUND
