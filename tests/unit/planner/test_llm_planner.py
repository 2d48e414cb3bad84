"""The LLM planner's output checks, against the real tools' published schemas, and its
model call over real HTTP to the scripted model server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.scripted_llm import Script, ScriptedModel, create_scripted_app
from contracts import ChatMessage, PlanCreated, TaskSpec
from contracts.inference import InferenceServer
from deploy.local import StackConfig
from deploy.local.services import service_components
from services.planner.llm_planner import LlmPlanner, PlannerFailure
from services.planner.plan_cache import REUSED, PlanCache
from services.planner.settings import PlannerSettings
from services.planner.tool_catalog import ToolCatalog
from services.tools.catalog import specs
from tests.support.servers import serve

CATEGORIES = ["general", "math", "reasoning"]


@pytest.fixture
async def catalog() -> ToolCatalog:
    """The tools' real catalog, served as GET /tools would serve it."""
    listed = httpx.MockTransport(lambda _: httpx.Response(200, json={"tools": specs()}))
    catalog = ToolCatalog("http://tools")
    async with httpx.AsyncClient(transport=listed) as client:
        await catalog.refresh(client)
    return catalog


def planner(
    catalog: ToolCatalog, url: str = "http://unused/v1", timeout_s: float = 5.0
) -> LlmPlanner:
    server = InferenceServer(name="judge", url=url)
    return LlmPlanner(server, "scripted-planner", CATEGORIES, catalog, timeout_s, research=True)


def output(*tasks: dict[str, Any]) -> str:
    return json.dumps({"tasks": list(tasks)})


def test_valid_entries_become_tasks_of_their_workers(catalog: ToolCatalog) -> None:
    made = planner(catalog).parse(
        "r",
        output(
            {"id": "t1", "task": "Explain why the sky is blue", "category": "general"},
            {
                "id": "t2",
                "task": "Convert 98 km/h to m/s",
                "category": "math",
                "tool": "unit_convert",
                "args": {"value": 98, "from_unit": "km/h", "to_unit": "m/s"},
            },
            {
                "id": "t3",
                "task": "Find today's EUR/USD rate",
                "category": "general",
                "search_query": "EUR USD exchange rate today",
            },
        ),
    )
    assert [(t.id, t.worker) for t in made.tasks] == [
        ("r:1", "expert"),
        ("r:2", "tool"),
        ("r:3", "research"),
    ]
    assert made.tasks[1].args == {"value": 98, "from_unit": "km/h", "to_unit": "m/s"}
    assert made.tasks[2].search_query == "EUR USD exchange rate today" and made.dropped == []


def test_invalid_entries_are_dropped_with_their_reasons(catalog: ToolCatalog) -> None:
    made = planner(catalog).parse(
        "r",
        output(
            {"id": "t1", "task": "Write a sonnet", "category": "poet"},
            {"id": "t2", "task": "Hash it", "category": "general", "tool": "crc32", "args": {}},
            {
                "id": "t3",
                "task": "Factor it",
                "category": "math",
                "tool": "prime_factorize",
                "args": {"n": "many"},
            },
            {"id": "t4", "task": "Answer the question", "category": "reasoning"},
            {"id": "t5", "task": "Too many", "category": "general"},
        ),
    )
    assert [t.task for t in made.tasks] == ["Answer the question"]
    reasons = " | ".join(made.dropped)
    assert "unknown category 'poet'" in reasons and "crc32" in reasons
    assert "prime_factorize" in reasons
    assert len(made.dropped) == 3  # the fifth entry is past the four-task limit


def test_only_one_research_task(catalog: ToolCatalog) -> None:
    search = {"task": "Look it up", "category": "general", "search_query": "news"}
    made = planner(catalog).parse("r", output({**search, "id": "a"}, {**search, "id": "b"}))
    assert [t.worker for t in made.tasks] == ["research"]
    assert made.dropped == ["a second research task"]


@pytest.mark.parametrize(
    "content",
    ["not json at all", '{"plan": []}', '{"tasks": "t1"}', output({"id": "t", "category": "x"})],
)
def test_unusable_output_is_a_failure(catalog: ToolCatalog, content: str) -> None:
    with pytest.raises(PlannerFailure):
        planner(catalog).parse("r", content)


@pytest.fixture
async def scripted_url() -> AsyncIterator[tuple[ScriptedModel, str]]:
    model = ScriptedModel()
    async with serve(create_scripted_app(model)) as url:
        yield model, f"{url}/v1"


async def test_model_is_asked_for_structured_output_with_the_conversation(
    catalog: ToolCatalog, scripted_url: tuple[ScriptedModel, str]
) -> None:
    model, url = scripted_url
    plan = output({"id": "t1", "task": "Say what Kafka is", "category": "general"})
    model.model_scripts["scripted-planner"] = Script(tokens=[plan])
    messages = [
        ChatMessage(role="user", content="What is 20 C in K?"),
        ChatMessage(role="assistant", content="293.15 K"),
        ChatMessage(role="user", content="and in Fahrenheit?"),
    ]
    made = await planner(catalog, url).plan("r", "and in Fahrenheit?", messages)
    assert [t.task for t in made.tasks] == ["Say what Kafka is"]
    [call] = model.calls
    schema = call["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["tasks"]["maxItems"] == 4
    assert schema["properties"]["tasks"]["items"]["properties"]["category"]["enum"] == CATEGORIES
    assert "293.15 K" in call["messages"][-1]["content"]  # planned with its context
    assert "unit_convert" in call["messages"][0]["content"]  # the live tool catalog


async def test_a_slow_model_is_a_bounded_failure(
    catalog: ToolCatalog, scripted_url: tuple[ScriptedModel, str]
) -> None:
    model, url = scripted_url
    model.reset(Script(first_token_delay_s=5))
    with pytest.raises(PlannerFailure, match="timed out"):
        await planner(catalog, url, timeout_s=0.2).plan("r", "What is Kafka?", [])


def made_plan(**fields: Any) -> PlanCreated:
    values: dict[str, Any] = {
        "request_id": "first",
        "tenant": "acme",
        "question": "What is Kafka?",
        "tasks": [TaskSpec(id="first:1", task="Explain Kafka"), TaskSpec(id="first:2", task="x")],
        "planned_by": "llm_planner",
        "cache_key": "default:q:abc",
    }
    return PlanCreated.model_validate({**values, **fields})


def test_plan_cache_reuses_a_standalone_plan_per_tenant_for_its_ttl() -> None:
    cache = PlanCache(ttl_s=1800)
    cache.remember(made_plan())
    found = cache.lookup("acme", "  what is   kafka? ", "second")
    assert found is not None and found[0] == "first"
    assert [t.id for t in found[1]] == ["second:1", "second:2"]
    assert cache.lookup("globex", "What is Kafka?", "third") is None
    old = made_plan(
        request_id="old", question="Old?", created_at=datetime.now(UTC) - timedelta(hours=1)
    )
    cache.remember(old)
    assert cache.lookup("acme", "Old?", "fourth") is None


def test_plan_cache_keeps_only_fresh_planner_model_plans_of_standalone_questions() -> None:
    cache = PlanCache(ttl_s=1800)
    cache.remember(made_plan(planned_by="router"))
    cache.remember(made_plan(cache_key="default:c:abc"))  # a follow-up's plan
    cache.remember(made_plan(plan_note=f"{REUSED}zero"))
    assert cache.lookup("acme", "What is Kafka?", "second") is None


@pytest.mark.parametrize(
    ("env", "planner_on"),
    [
        ({}, False),  # the local stack's 135M judge cannot plan
        ({"JUDGE_MODEL": "qwen2.5-32b-instruct"}, True),
        ({"JUDGE_MODEL": "qwen2.5-32b-instruct", "PLANNER_LLM_PLANNER": "false"}, False),
        ({"PLANNER_LLM_PLANNER": "true"}, True),
    ],
)
def test_the_llm_planner_is_on_unless_the_local_model_judges(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], planner_on: bool
) -> None:
    for name in ("JUDGE_MODEL", "PLANNER_JUDGE_MODEL", "PLANNER_LLM_PLANNER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert PlannerSettings().llm_planner is planner_on


@pytest.mark.parametrize("choice", [True, False])
def test_moe_run_passes_its_llm_planner_choice_to_the_planner(
    monkeypatch: pytest.MonkeyPatch, choice: bool
) -> None:
    config = StackConfig(llm_port=18080, log_dir=Path("unused"), llm_planner=choice)
    [component] = [c for c in service_components(config) if c.name == "planner"]
    for name, value in component.env.items():
        monkeypatch.setenv(name, value)
    assert PlannerSettings().llm_planner is choice
