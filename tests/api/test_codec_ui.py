"""The Temporal Web UI shows encrypted tickets decoded to a signed-in admin, in a real
Chromium: a Temporal dev server with its UI pointed at the API's codec endpoint
(`--ui-codec-endpoint`), the API and a worker with payload keys, a ticket called in.

What the browser sends: the UI calls `<endpoint>/decode` with `fetch`, cross-origin, and with
`credentials: 'include'` only when the codec setting says to include credentials. The dev
server's embedded UI never says so (the CLI builds its UI config with the endpoint alone:
`IncludeCredentials` is false, and no flag or variable sets it), so with the cluster-level
setting the browser sends no cookie, and the admin's session does not reach the API. The admin
turns it on once per browser, in the UI's own Codec Server settings: "Use my browser setting",
the endpoint, "Include cross-origin credentials" (kept in the browser's local storage). A
`temporal-ui` server does it for everyone with TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true.

`make run` wires the endpoint and the CORS origins when payload keys are set: checked last,
on `aftersales dev` itself."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, Request, Response, expect
from sqlalchemy.engine import Engine
from temporalio.client import Client

from tests.api.conftest import (
    ADMIN_PASSWORD,
    Api,
    add_staff,
    api_settings,
    database_url_of,
    running_api,
)
from tests.api.test_codec_endpoint import KEYS, NAME, PHONE, TEMPORAL_CLI, called_in_ticket
from tests.ports import free_port
from tests.test_stack import ADMIN_PASSWORD as STACK_ADMIN_PASSWORD
from tests.test_stack import Stack
from worker import DATA_CONVERTER, connect, register_search_attributes

COOKIE = "aftersales_session"
START_TIMEOUT = 60
DECODED_TIMEOUT_MS = 30_000
# An encrypted payload as the UI shows it undecoded: its bytes in base64, quoted.
CIPHERTEXT = re.compile(r'^"[A-Za-z0-9+/]{200,}={0,2}"$')


@dataclass
class UiTemporal:
    """A Temporal dev server with its Web UI, whose codec endpoint is the API to come."""

    address: str
    ui_url: str
    api_port: int

    @property
    def codec_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/codec"


async def _started(ui_url: str, address: str) -> Client:
    """A client of the dev server, once both it and its UI answer."""
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            try:
                (await http.get(f"{ui_url}/api/v1/settings")).raise_for_status()
                return await Client.connect(address, data_converter=DATA_CONVERTER)
            except (httpx.HTTPError, RuntimeError):
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.3)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """One database is enough here: the codec reads none."""
    return f"sqlite:///{tmp_path / 'aftersales.db'}"


@pytest.fixture
async def ui_temporal(tmp_path: Path) -> AsyncIterator[UiTemporal]:
    port, ui_port, api_port = free_port(), free_port(), free_port()
    server = UiTemporal(f"127.0.0.1:{port}", f"http://127.0.0.1:{ui_port}", api_port)
    with (tmp_path / "temporal.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            str(TEMPORAL_CLI),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--ui-port",
            str(ui_port),
            "--ui-codec-endpoint",
            server.codec_endpoint,
            "--ui-disable-news-fetch",
            "--db-filename",
            str(tmp_path / "temporal.db"),
            "--namespace",
            "default",
            "--log-level",
            "error",
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        client = await _started(server.ui_url, server.address)
        await register_search_attributes(client)
        yield server
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


@pytest.fixture
async def ui_api(
    ui_temporal: UiTemporal, engine: Engine, task_queue: str, tmp_path: Path
) -> AsyncIterator[Api]:
    """The API and a worker with payload keys on that server; CORS for the UI's origins, as
    `make run` sets them."""
    ui_port = ui_temporal.ui_url.rsplit(":", 1)[1]
    settings = api_settings(
        tmp_path,
        database_url_of(engine),
        task_queue,
        api_port=ui_temporal.api_port,
        temporal_address=ui_temporal.address,
        payload_keys=KEYS,
        codec_cors_origins=f"http://127.0.0.1:{ui_port},http://localhost:{ui_port}",
    )
    add_staff(engine)
    worker_client = await connect(settings)
    async with running_api(settings, engine, worker_client) as client:
        yield client


def is_decode(response: Response) -> bool:
    return response.request.method == "POST" and "/codec/decode" in response.url


async def open_workflow(page: Page, url: str) -> Response:
    """The UI's page of a workflow; the answer to its (first) request to decode payloads."""
    async with page.expect_response(is_decode, timeout=DECODED_TIMEOUT_MS) as decoded:
        await page.goto(url)
    answer = await decoded.value
    await answer.finished()
    return answer


async def shows_ciphertext_only(page: Page) -> bool:
    """The UI says it could not decode, shows the input as the ciphertext it holds, and no
    customer data."""
    await expect(
        page.locator("#content").get_by_text("Codec Server could not connect")
    ).to_be_visible(timeout=DECODED_TIMEOUT_MS)
    await expect(page.get_by_text(CIPHERTEXT).first).to_be_visible()
    return not await shows_customer(page)


async def cookie_sent(request: Request) -> str:
    return (await request.all_headers()).get("cookie", "")


async def shows_customer(page: Page) -> bool:
    text = await page.locator("body").inner_text()
    return NAME in text or PHONE in text


async def fetch_from_api(
    page: Page, api: Api, method: str, path: str, form: dict[str, str] | None = None
) -> int:
    """`fetch` in a page of the API's own origin, as the admin does from /docs: the browser
    itself keeps the cookie the answer sets."""
    if not page.url.startswith(api.base_url):
        await page.goto(f"{api.base_url}/health")
    status: int = await page.evaluate(
        """async ([method, path, form]) => {
            const init = {method};
            if (form) init.body = new URLSearchParams(form);
            return (await fetch(path, init)).status;
        }""",
        [method, path, form],
    )
    return status


async def use_browser_codec_setting(page: Page, endpoint: str) -> None:
    """The UI's own Codec Server settings, as an admin sets them once in a browser: the
    browser-level endpoint, with cross-origin credentials (cookies) included."""
    await page.locator('[data-testid^="data-encoder-status"]').first.click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Use my browser setting and ignore Cluster-level setting.").check()
    await dialog.get_by_label("Codec Server browser endpoint").fill(endpoint)
    await dialog.get_by_test_id("data-encoder-include-credentials").click()
    await expect(
        dialog.get_by_role("switch", name="Include cross-origin credentials")
    ).to_be_checked()
    await dialog.get_by_role("button", name="Apply").click()
    await expect(dialog).to_be_hidden()


async def test_the_temporal_ui_decodes_for_a_signed_in_admin(
    ui_temporal: UiTemporal, ui_api: Api, browser: Browser, tmp_path: Path
) -> None:
    workflow_id = await called_in_ticket(ui_api)
    workflow_page = f"{ui_temporal.ui_url}/namespaces/default/workflows/{workflow_id}"
    context = await browser.new_context()
    page = await context.new_page()

    # (a) Not signed in: the UI asks, the API refuses, the page shows only ciphertext.
    answer = await open_workflow(page, workflow_page)
    assert answer.status == 401
    assert answer.headers["access-control-allow-origin"] == ui_temporal.ui_url
    assert await shows_ciphertext_only(page)

    # The admin signs in, in this browser, on the API's origin.
    api_page = await context.new_page()
    credentials = {"username": "admin", "password": ADMIN_PASSWORD}
    assert await fetch_from_api(api_page, ui_api, "POST", "/auth/session", credentials) == 200
    [cookie] = [c for c in await context.cookies(ui_api.base_url) if c["name"] == COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"

    # With the cluster-level setting (`--ui-codec-endpoint` alone), the embedded UI calls the
    # codec without credentials: no cookie goes, and the payloads stay encrypted.
    answer = await open_workflow(page, workflow_page)
    assert COOKIE not in await cookie_sent(answer.request), (
        "the UI now sends cookies: update the docs"
    )
    assert answer.status == 401
    assert await shows_ciphertext_only(page)

    # (b) The admin tells the UI to include credentials: the UI decodes.
    await use_browser_codec_setting(page, ui_temporal.codec_endpoint)
    answer = await open_workflow(page, workflow_page)
    assert f"{COOKIE}=" in await cookie_sent(answer.request)
    assert answer.status == 200, await answer.text()
    await expect(page.get_by_text(NAME).first).to_be_visible(timeout=DECODED_TIMEOUT_MS)
    assert await shows_customer(page)
    await page.screenshot(path=tmp_path / "temporal-ui-decoded.png", full_page=True)

    # Signed out, the same browser setting decodes nothing.
    assert await fetch_from_api(api_page, ui_api, "DELETE", "/auth/session") == 204
    assert not [c for c in await context.cookies(ui_api.base_url) if c["name"] == COOKIE]
    answer = await open_workflow(page, workflow_page)
    assert answer.status == 401
    assert await shows_ciphertext_only(page)
    await context.close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    yield running
    if running.process and running.process.poll() is None:
        running.kill_everything()


@pytest.mark.parametrize("encrypted", [True, False], ids=["payload-keys", "no-keys"])
def test_make_run_points_the_ui_at_the_codec_when_payloads_are_encrypted(
    stack: Stack, encrypted: bool
) -> None:
    ui_port = stack.env["AFTERSALES_TEMPORAL_UI_PORT"]
    if encrypted:
        stack.env["AFTERSALES_PAYLOAD_KEYS"] = KEYS
    stack.start()
    codec = httpx.get(f"http://127.0.0.1:{ui_port}/api/v1/settings", timeout=10).json()["Codec"]
    assert codec["Endpoint"] == (f"{stack.url}/codec" if encrypted else "")
    for origin in (f"http://127.0.0.1:{ui_port}", f"http://localhost:{ui_port}"):
        preflight = httpx.options(
            f"{stack.url}/codec/decode",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        if encrypted:
            assert preflight.status_code == 204, preflight.text
            assert preflight.headers["access-control-allow-origin"] == origin
            assert preflight.headers["access-control-allow-credentials"] == "true"
        else:
            assert preflight.status_code == 400
    signed_in = httpx.post(
        f"{stack.url}/auth/session", data={"username": "admin", "password": STACK_ADMIN_PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    decoded = httpx.post(
        f"{stack.url}/codec/decode",
        content=b'{"payloads": []}',
        cookies={COOKIE: signed_in.cookies[COOKIE]},
    )
    assert decoded.status_code == (200 if encrypted else 404), decoded.text
