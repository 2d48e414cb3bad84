"""Precision routing on the real broker: through the gateway, a question of every tool
family is answered exactly by its tool with no model call, and a question mixing a
precise part with an open one gets a tool task and an expert task, merged by the judge."""

from __future__ import annotations

import pytest

from bench.scripted_llm import ScriptedModel
from contracts.topics import PLANS
from tests.support.gateway import gateway_client
from tests.support.topics import first_event

# One question per tool, as people phrase them, and a fragment of the exact answer.
QUESTIONS = [
    ("Compute 7.5 percent of 6360.", "calculate", "477"),
    ("What is 1994 in Roman numerals?", "roman_numeral", "MCMXCIV"),
    ("What is the prime factorization of 360?", "prime_factorize", "2^3"),
    ("What is the GCD of 48 and 18?", "gcd_lcm", "6"),
    ("Solve 3x - 7 = 11", "solve_equation", "6"),
    ("How many days between 2024-01-01 and 2024-12-25?", "date_diff", "359"),
    ("What date is 90 days after 2024-03-01?", "date_add", "2024-05-30"),
    ("Which weekday is 1997-08-07?", "day_of_week", "Thursday"),
    ("Convert 98 km/h to m/s.", "unit_convert", "27.2"),
    ("What is the mean of 3, 5, 7, 9?", "statistics_calc", "6"),
    ("What is the MD5 hash of 'hello'?", "hash_text", "5d41402abc4b2a76b9719d911017c592"),
    ('Base64 encode "hello world"', "base64_codec", "aGVsbG8gd29ybGQ="),
    ("Extract all emails from: write to ann@example.org", "regex_extract", "ann@example.org"),
    ('In {"users": [{"name": "Ann"}]}, what is users[0].name?', "json_query", "Ann"),
    ("Count the words in: The quick brown fox jumps.", "text_analyze", "5"),
    ("How many usable hosts are in 10.0.0.0/22?", "subnet_calc", "1022"),
    ("What is 52 choose 5?", "exact_probability", "2598960"),
    (
        "Convert 9am New York time to London time on July 4, 2026",
        "timezone_convert",
        "2026-07-04T14:00:00",
    ),
    ("Is 2028 a leap year?", "time_facts", "is_leap_year: True"),
    ("Monthly payment on a 250000 loan at 4.5% over 30 years", "decimal_finance", "1266.71"),
    ("Is this valid JSON: {'a': 1}", "structured_validate", "well_formed: False"),
]


@pytest.mark.parametrize(("question", "tool", "expected"), QUESTIONS)
async def test_precise_question_is_answered_exactly_without_a_model(
    kafka_url: str,
    gateway_url: str,
    scripted: ScriptedModel,
    question: str,
    tool: str,
    expected: str,
) -> None:
    completion = await gateway_client(gateway_url).chat.completions.create(
        model="moe-orchestrator", messages=[{"role": "user", "content": question}]
    )
    assert expected in (completion.choices[0].message.content or "")
    assert scripted.calls == []
    plan = await first_event(kafka_url, PLANS, completion.id.removeprefix("chatcmpl-"))
    assert plan["planned_by"] == "precision"
    assert [t["tool"] for t in plan["tasks"]] == [tool]


async def test_mixed_question_gets_a_tool_task_and_an_expert_task_merged(
    kafka_url: str, gateway_url: str, scripted: ScriptedModel
) -> None:
    question = "Convert 98 km/h to m/s and explain why m/s is the SI unit"
    completion = await gateway_client(gateway_url).chat.completions.create(
        model="moe-orchestrator", messages=[{"role": "user", "content": question}]
    )
    assert completion.choices[0].message.content
    plan = await first_event(kafka_url, PLANS, completion.id.removeprefix("chatcmpl-"))
    assert [(t["worker"], t["tool"]) for t in plan["tasks"]] == [
        ("tool", "unit_convert"),
        ("expert", None),
    ]
    expert_calls = [c for c in scripted.calls if c["model"] == "scripted-general"]
    assert expert_calls[0]["messages"][-1]["content"] == "explain why m/s is the SI unit"
    # The judge merged both: the exact value is in what it was given.
    # The judge thinks first (two tasks), then writes: its last call is the answer.
    *_, judge = [c for c in scripted.calls if c["model"] == "scripted-judge"]
    assert "27.2" in judge["messages"][-1]["content"]
