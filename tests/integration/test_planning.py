"""How plans are made, on the real broker: every decision is on record in moe.plans."""

from __future__ import annotations

from bench.scripted_llm import ScriptedModel
from contracts.topics import PLANS
from tests.support.gateway import gateway_client
from tests.support.topics import first_event

TITLE_TASK = (
    "### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history."
    "\n### Guidelines:\n- The title should clearly represent the main theme.\n"
    '### Output:\nJSON format: { "title": "your concise title here" }\n'
    "### Chat History:\n<chat_history>\nUSER: What is Kafka?\n</chat_history>"
)


async def test_open_webui_title_request_takes_the_fast_path(
    kafka_url: str, gateway_url: str, scripted: ScriptedModel
) -> None:
    client = gateway_client(gateway_url)
    for expected_calls in (1, 2):  # never cached: each one is a model call
        stream = await client.chat.completions.create(
            model="moe-orchestrator",
            messages=[{"role": "user", "content": TITLE_TASK}],
            stream=True,
        )
        chunks = [c async for c in stream]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "".join(scripted.script.tokens)
        assert len(scripted.calls) == expected_calls
    plan = await first_event(kafka_url, PLANS, chunks[0].id.removeprefix("chatcmpl-"))
    assert plan["planned_by"] == "fast_path" and plan["cache_key"] is None
    assert [t["worker"] for t in plan["tasks"]] == ["expert"]
    assert scripted.calls[-1]["messages"][-1]["content"] == TITLE_TASK


async def test_clear_router_match_is_one_task_of_its_category_without_a_planner_call(
    kafka_url: str, gateway_url: str, scripted: ScriptedModel
) -> None:
    completion = await gateway_client(gateway_url).chat.completions.create(
        model="moe-orchestrator",
        messages=[{"role": "user", "content": "What are the early signs of a stroke?"}],
    )
    assert completion.choices[0].message.content == "".join(scripted.script.tokens)
    plan = await first_event(kafka_url, PLANS, completion.id.removeprefix("chatcmpl-"))
    assert plan["planned_by"] == "router" and plan["plan_note"] == "medical_consult"
    assert [t["category"] for t in plan["tasks"]] == ["medical_consult"]
    assert plan["distance"] <= 0.68 and plan["margin"] >= 0.10
    assert len(scripted.calls) == 1  # the expert's answer only: nobody planned with a model
