"""The floor: the barest Temporal workflow with the ticket's shape, for `bench.lifecycle`.

Five updates (the first one sent with the start, by update-with-start) and two no-op regular
activities awaited from update handlers (the registration's and the invoice's), then the
workflow completes. Nothing else: no
database, no HTTP, no validation. Kept in its own module, importing only the SDK, so that the
workflow sandbox has little to re-import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# The steps of one lifecycle, in order; the first is sent with the start.
STEPS = ("call_in", "dispatch", "arrive", "resolve", "record_payment")
INVOICED_STEP, LAST_STEP = "resolve", STEPS[-1]


@dataclass
class FloorStart:
    unit_id: str


@dataclass
class FloorStep:
    action: str
    actor: str


@dataclass
class FloorState:
    unit_id: str
    seq: int = 0
    status: str = "new"
    done: bool = False


@activity.defn
async def floor_record_call_in(state: FloorState) -> None:
    """No-op, standing for the ticket's registration write."""


@activity.defn
async def floor_record_resolution(state: FloorState) -> None:
    """No-op, standing for the invoice's write."""


@workflow.defn(name="BenchFloor")
class FloorWorkflow:
    @workflow.init
    def __init__(self, start: FloorStart) -> None:
        self.state = FloorState(unit_id=start.unit_id)

    @workflow.run
    async def run(self, start: FloorStart) -> FloorState:
        await workflow.wait_condition(lambda: self.state.done)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    @workflow.update
    async def step(self, step: FloorStep) -> FloorState:
        self.state.seq += 1
        self.state.status = step.action
        if step.action == STEPS[0]:
            await workflow.execute_activity(
                floor_record_call_in, self.state, start_to_close_timeout=ACTIVITY_TIMEOUT
            )
        elif step.action == INVOICED_STEP:
            await workflow.execute_activity(
                floor_record_resolution, self.state, start_to_close_timeout=ACTIVITY_TIMEOUT
            )
        elif step.action == LAST_STEP:
            self.state.done = True
        return self.state
