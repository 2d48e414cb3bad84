"""Typed results: every tool publishes an output schema, every answer matches it, and a
call reports its version, validated input and a hash of the canonical JSON result."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jsonschema
import pytest
from mcp import Client

from services.tools.app import create_app
from services.tools.catalog import TOOLS, specs
from services.tools.registry import ToolError
from services.tools.runner import ToolRunner, result_hash
from services.tools.settings import ToolsSettings
from tests.support.servers import serve
from tests.unit.tools.helpers import call

pytestmark = pytest.mark.timeout(60)

# One ordinary call per tool: its answer must match the schema the tool publishes.
EXAMPLES: dict[str, dict[str, Any]] = {
    "calculate": {"expression": "1/3 + 2"},
    "prime_factorize": {"n": 360},
    "gcd_lcm": {"numbers": [12, 18]},
    "roman_numeral": {"number": 1994},
    "solve_equation": {"equation": "x^2 = 2"},
    "symbolic_math": {"operation": "integrate", "expression": "x", "lower": "0", "upper": "1"},
    "date_diff": {"start": "2024-01-01", "end": "2024-03-01"},
    "date_add": {"date": "2024-01-31", "months": 1},
    "day_of_week": {"date": "2024-02-29"},
    "timezone_convert": {"time": "2024-06-01T12:00", "from_zone": "UTC", "to_zone": "Asia/Tokyo"},
    "time_facts": {"time": "2024-06-01T12:00:00+00:00"},
    "unit_convert": {"value": 1, "from_unit": "mile", "to_unit": "km"},
    "decimal_finance": {"operation": "amortization", "amount": "1000", "rate": "1", "periods": 3},
    "exact_probability": {
        "operation": "expected_value",
        "values": ["1", "3"],
        "probabilities": ["1/4", "3/4"],
    },
    "hash_text": {"text": "abc"},
    "base64_codec": {"text": "aGk=", "mode": "decode"},
    "regex_extract": {"pattern": r"\d+", "text": "a1b22"},
    "text_analyze": {"text": "One two. Three."},
    "statistics_calc": {"numbers": [1, 2, 2, 5]},
    "json_query": {"data": '{"a": [1, {"b": 2}]}', "path": "a[1].b"},
    "structured_validate": {"format": "csv", "text": "a,b\n1,2\n"},
    "subnet_calc": {"cidr": "192.168.1.0/24"},
}


def test_every_tool_has_an_example_here() -> None:
    assert set(EXAMPLES) == set(TOOLS)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_results_match_the_published_output_schema(name: str) -> None:
    schema = next(spec for spec in specs() if spec["name"] == name)["output_schema"]
    result = call(name, **EXAMPLES[name])
    jsonschema.Draft202012Validator(schema).validate(result)
    assert schema["type"] == "object" and schema["additionalProperties"] is False


def test_a_result_off_its_schema_is_an_internal_error() -> None:
    with pytest.raises(ToolError) as info:
        TOOLS["gcd_lcm"].check_output({"numbers": [1, 2], "gcd": "1", "lcm": 2})
    assert info.value.code == "internal" and "gcd" in info.value.message


def test_exact_values_pick_the_declared_fields() -> None:
    assert TOOLS["gcd_lcm"].exact_values(call("gcd_lcm", numbers=[12, 18])) == ["6", "36"]
    assert TOOLS["prime_factorize"].exact_values(call("prime_factorize", n=12)) == ["2", "3"]
    vat = call("decimal_finance", operation="add_vat", amount="10", rate="19")
    assert TOOLS["decimal_finance"].exact_values(vat) == ["11.90", "1.90"]


async def test_call_reports_version_input_and_hash(runner: ToolRunner) -> None:
    done = await runner.call("calculate", {"expression": "2+2"})
    assert (done.version, done.input, done.result["result"]) == ("1.0", {"expression": "2+2"}, 4)
    canonical = json.dumps(done.result, sort_keys=True, separators=(",", ":"))
    assert done.result_hash == hashlib.sha256(canonical.encode()).hexdigest()
    defaults = await runner.call("decimal_finance", {"operation": "sum", "amounts": ["1", 2]})
    assert defaults.input["scale"] == 2 and defaults.input["rounding"] == "half_even"
    assert defaults.input["amounts"] == ["1", "2"]


async def test_a_result_over_the_bound_is_result_too_large(runner: ToolRunner) -> None:
    with pytest.raises(ToolError) as info:
        await runner.invoke("base64_codec", {"text": "x" * 900_000})
    assert info.value.code == "result_too_large"


@pytest.fixture(scope="module")
async def base_url() -> AsyncIterator[str]:
    settings = ToolsSettings(kafka_enabled=False, searxng_url="", pool_size=1)
    async with serve(create_app(settings)) as url:
        yield url


async def test_rest_publishes_output_schemas_and_typed_results(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        listed = (await client.get("/tools")).json()["tools"]
        response = await client.post(
            "/invoke", json={"tool": "gcd_lcm", "args": {"numbers": ["12", 18]}}
        )
    by_name = {tool["name"]: tool for tool in listed}
    assert by_name["gcd_lcm"]["output_schema"]["required"] == ["numbers", "gcd", "lcm"]
    assert by_name["gcd_lcm"]["version"] == "1.0"
    body = response.json()
    assert body["structured_result"] == {"numbers": [12, 18], "gcd": 6, "lcm": 36}
    assert body["input"] == {"numbers": [12, 18]}
    assert body["result_hash"] == result_hash(body["structured_result"])
    assert (body["version"], body["result"]) == ("1.0", body["structured_result"])


async def test_mcp_publishes_output_schemas_and_result_meta(base_url: str) -> None:
    async with Client(f"{base_url}/mcp") as client:
        listed = await client.list_tools()
        result = await client.call_tool("exact_probability", {"operation": "factorial", "n": 5})
    schema = {tool.name: tool.output_schema for tool in listed.tools}["exact_probability"]
    assert schema is not None and "decimal" in schema["properties"]
    assert result.structured_content == {
        "operation": "factorial",
        "result": "120",
        "decimal": "120",
    }
    assert result.meta is not None
    assert result.meta["result_hash"] == result_hash(result.structured_content)
    assert result.meta["input"]["n"] == 5 and result.meta["version"] == "1.0"
