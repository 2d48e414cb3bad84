"""REST interface of a real uvicorn server on a free loopback port. (A real server rather
than the ASGI transport: the MCP session manager in the lifespan holds an anyio task group,
which must be left in the task that entered it.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.tools.app import create_app
from services.tools.catalog import TOOLS
from services.tools.settings import ToolsSettings
from tests.support.servers import serve

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = ToolsSettings(
        kafka_enabled=False, searxng_url="", pool_size=1, max_body_bytes=100_000
    )
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as http:
        yield http


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_tools_lists_names_descriptions_and_schemas(client: httpx.AsyncClient) -> None:
    body = (await client.get("/tools")).json()
    names = [tool["name"] for tool in body["tools"]]
    assert names == list(TOOLS)
    calculate = body["tools"][0]
    assert calculate["description"]
    assert calculate["parameters"]["properties"]["expression"]["type"] == "string"
    assert calculate["parameters"]["required"] == ["expression"]
    assert body["research"] == {"available": False, "reason": "SEARXNG_URL is not set"}


async def test_invoke(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/invoke",
        json={
            "tool": "unit_convert",
            "args": {"value": 212, "from_unit": "degF", "to_unit": "degC"},
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["tool"], body["result"]["result"]) == ("unit_convert", 100)
    assert "212 degF = 100 degC" in body["text"]


async def test_invoke_errors_in_openai_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/invoke", json={"tool": "calculate", "args": {"expression": "1/0"}}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "division by zero",
            "type": "invalid_request_error",
            "param": "expression",
            "code": "invalid_argument",
        }
    }
    missing = await client.post("/invoke", json={"tool": "nope", "args": {}})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_tool"


@pytest.mark.parametrize(
    ("body", "param"),
    [(b"not json", None), (b'{"args": {}}', "tool"), (b'{"tool": "calculate", "args": 3}', "args")],
)
async def test_invoke_malformed_requests(
    client: httpx.AsyncClient, body: bytes, param: str | None
) -> None:
    response = await client.post("/invoke", content=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


async def test_invoke_oversized_body(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/invoke", json={"tool": "hash_text", "args": {"text": "x" * 200_000}}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
