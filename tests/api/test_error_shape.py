"""One error shape for every route (api/errors.py `ErrorBody`): `detail`, a sentence; `errors`,
each naming a field (`loc`) and its rule (`msg`, `type`); `allowed_actions` where a status
refuses a step. Checked on the OpenAPI schema and on real answers of every operation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.errors import ErrorBody
from tests.api.conftest import Api

ERROR_REF = "#/components/schemas/ErrorBody"
# Operations anyone may call (the rest answer 401 to a stranger).
PUBLIC = {
    ("get", "/health"),
    ("post", "/auth/token"),
    ("post", "/auth/session"),
    ("delete", "/auth/session"),
    ("get", "/surveys/{token}"),
    ("post", "/surveys/{token}"),
    ("get", "/status/{token}"),
    ("get", "/status/{token}/documents/{kind}.pdf"),
}


@pytest.fixture
async def schema(api: Api) -> dict[str, Any]:
    answer = await api.anonymous.get("/openapi.json")
    assert answer.status_code == 200
    found: dict[str, Any] = answer.json()
    return found


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def assert_error_body(body: Any, where: str) -> None:
    assert isinstance(body, dict), where
    ErrorBody.model_validate(body)  # detail is a string; errors and actions, if any, typed
    for error in body.get("errors") or []:
        assert error["loc"][0] in ("body", "query", "path", "header"), (where, error)


async def test_every_operation_documents_the_one_error_body(schema: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for method, path, operation in operations(schema):
        for status, answer in operation["responses"].items():
            if not status.startswith(("4", "5")) or (method, path) == ("get", "/health"):
                continue
            body = answer.get("content", {}).get("application/json", {}).get("schema")
            assert body == {"$ref": ERROR_REF}, (method, path, status)


async def test_every_operation_answers_a_stranger_in_the_one_shape(
    api: Api, schema: dict[str, Any]
) -> None:
    checked = 0
    for method, path, _ in operations(schema):
        url = re.sub(r"\{[^}]+\}", "x", path)
        answer = await api.anonymous.request(method.upper(), url)
        if (method, path) in PUBLIC:
            assert answer.status_code != 401, (method, path)
            if answer.status_code < 400 or "json" not in answer.headers["content-type"]:
                continue
        else:
            assert answer.status_code == 401, (method, path, answer.text)
        assert_error_body(answer.json(), f"{method} {path}")
        checked += 1
    assert checked > 30


async def test_refusals_of_every_kind_have_the_one_shape(api: Api) -> None:
    clerk, tech = await api.users("clerk1", "tech1")
    ticket = (await clerk.post("/tickets", json={"zone": "urban"})).json()  # 422
    assert_error_body(ticket, "422 body")
    assert {tuple(e["loc"]) for e in ticket["errors"]} >= {("body", "customer")}
    missing = await clerk.get("/tickets/nope")  # 404
    assert missing.status_code == 404
    assert_error_body(missing.json(), "404")
    forbidden = await tech.post("/tickets", json={})  # 403
    assert forbidden.status_code == 403
    assert_error_body(forbidden.json(), "403")
    bad_query = await clerk.get("/tickets", params={"limit": "lots"})  # 422 in the query
    assert bad_query.json()["errors"][0]["loc"] == ["query", "limit"]
    assert_error_body(bad_query.json(), "query 422")
