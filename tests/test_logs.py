"""What the logs may not keep (docs/security.md): customers' emails and phone numbers, and the
secret tokens of survey links; checked on the masking itself and on a real `aftersales api`
process's access log."""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from core.logs import Masking, mask
from tests.ports import free_port
from tests.test_cli import AFTERSALES, clean_env

TOKEN = "Qm9vdHN0cmFwLXN1cnZleS10b2tlbi1vZi00My1jaGFycw"


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("sent to li.lei@example.com", "sent to ***@example.com"),
        ("call 13800000000 now", "call *******0000 now"),
        ("tel +86 138 0000 1234.", "tel *********1234."),
        ("GET /surveys/abc_DEF-1?thanks=1 HTTP/1.1", "GET /surveys/***?thanks=1 HTTP/1.1"),
        ("GET /status/t1.mac_-9/documents/invoice.pdf", "GET /status/***/documents/invoice.pdf"),
        # Not a phone: dates, times, amounts, addresses, ticket and invoice numbers.
        ("2026-12-02 06:05:35,123", "2026-12-02 06:05:35,123"),
        ("amount 1000000.00", "amount 1000000.00"),
        ("127.0.0.1:53211", "127.0.0.1:53211"),
        ("T2026-000001 INV-2026-000012", "T2026-000001 INV-2026-000012"),
    ],
)
def test_contact_details_and_link_tokens_are_masked(line: str, masked: str) -> None:
    assert mask(line) == masked


def test_the_filter_masks_a_record_with_arguments() -> None:
    record = logging.LogRecord(
        "aftersales.notify", logging.INFO, __file__, 1, "%s to %s", ("sent", "13800001234"), None
    )
    assert Masking().filter(record)
    assert record.getMessage() == "sent to *******1234"


def test_the_api_access_log_keeps_no_token_and_no_phone(tmp_path: Path) -> None:
    port = free_port()
    api = subprocess.Popen(
        [str(AFTERSALES), "api"],
        cwd=tmp_path,
        env=clean_env(
            data_dir=str(tmp_path / "data"),
            api_port=str(port),
            temporal_address=f"127.0.0.1:{free_port()}",  # not needed for these requests
        ),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{base}/docs", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(f"{base}/surveys/{TOKEN}", timeout=10).status_code == 404
        answer = httpx.get(f"{base}/tickets", params={"customer_phone": "13800009876"}, timeout=10)
        assert answer.status_code == 401
    finally:
        api.terminate()
        _, log = api.communicate(timeout=30)
    assert "/surveys/*** " in log and TOKEN not in log
    assert "customer_phone=*******9876" in log and "13800009876" not in log
