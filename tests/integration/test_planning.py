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
