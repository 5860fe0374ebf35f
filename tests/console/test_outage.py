"""An outage in the console (issue 15, docs/architecture.md "Outages"): with Temporal not
answering, a call-in is answered with a page saying to try again (503), never a stack trace
or a 500, and nothing was registered; the pages that only read keep working."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import add_staff, api_settings, database_url_of, running_api
from tests.console.conftest import Console
from tests.ports import free_port

CALL = {
    "customer_name": "Li Lei",
    "customer_phone": "13800000000",
    "customer_address": "1 Ring Road",
    "product_model": "TV-55",
    "zone": "urban",
    "problem": "no picture",
    "channel": "phone",
}


async def test_a_step_while_temporal_is_down_says_try_again(
    dev_env: WorkflowEnvironment, engine: Engine, task_queue: str, tmp_path: Path
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens there
    settings = api_settings(tmp_path, database_url_of(engine), task_queue, temporal_address=nowhere)
    add_staff(engine)
    async with running_api(settings, engine, dev_env.client) as api:
        console = await Console.of(api, "clerk1")
        try:
            answer = await console.post("/console/call-in", CALL)
            assert answer.status_code == 503, answer.text
            assert "The service is unavailable for a moment." in answer.text
            assert "Traceback" not in answer.text
            listed = await console.http.get("/console/tickets")
            assert listed.status_code == 200 and "No tickets match." in listed.text
        finally:
            await console.close()
