"""The merger's precision guard: which tool values an answer states unchanged (numbers
after separators are normalised, other values as text), and the correction it makes when
a judge altered or dropped one."""

from __future__ import annotations

import pytest
from faststream.kafka import TestKafkaBroker

from bench.scripted_llm import Script, ScriptedModel, create_scripted_app
from contracts import AnswerCommitted, PlanCreated, ReplyChunk, ReplyDone, TaskResult, TaskSpec
from contracts.inference import InferenceServer
from contracts.topics import ANSWERS, PLANS, REPLIES, RESULTS
from contracts.wire import make_broker
from services.merger.app import create_app
from services.merger.precision_guard import NOTE, guard, missing_values, numbers_in
from services.merger.settings import MergerSettings
from tests.support.servers import serve
from tests.unit.conftest import capture


@pytest.mark.parametrize(
    ("values", "answer"),
    [
        (["1234567"], "That makes 1,234,567 in total."),
        (["1234567"], "That makes 1_234_567 in total."),
        (["1234567"], "That makes 1\u202f234\u202f567 in total."),
        (["409.5"], "The VAT is 409.50 euros."),
        (["409.5"], "It is 409.5."),
        (["-3", "2"], "So x = -3 or x = 2."),
        (["-3"], "So x = \u22123."),
        (["1e-05"], "about 0.00001 of it"),
        (["11.90"], "Gross: 11.9"),
        (["BA7816BF8F01"], "sha256 starts ba7816bf8f01..."),
        (["2024-03-31T06:00:00"], "It is 2024-03-31T06:00:00 in New York."),
        (["Monday"], "that was a monday"),
    ],
)
def test_values_stated_unchanged(values: list[str], answer: str) -> None:
    assert missing_values(values, answer) == []


@pytest.mark.parametrize(
    ("values", "answer", "missing"),
    [
        (["409.5"], "The VAT is about 409 euros.", ["409.5"]),
        (["409.5"], "The VAT is 4095 cents.", ["409.5"]),
        (["1234567"], "That makes 1,234,568.", ["1234567"]),
        (["3"], "x-3 is not a value.", []),
        (["-3"], "x-3 is not a value.", ["-3"]),
        (["18446744073709551615"], "roughly 1.8e19", ["18446744073709551615"]),
        (["6", "36"], "The gcd is 6.", ["36"]),
        (["2024-03-31T06:00:00"], "March 31, 6 am", ["2024-03-31T06:00:00"]),
    ],
)
def test_values_altered_or_dropped(values: list[str], answer: str, missing: list[str]) -> None:
    assert missing_values(values, answer) == missing


def test_numbers_in_text() -> None:
    found = numbers_in("Between 1 and 500, 2,500.25 or -7; v2 and 3.")
    assert {str(n) for n in found} == {"1", "500", "2500.25", "-7", "3"}


PLAN = PlanCreated(
    request_id="req-g",
    tenant="acme",
    question="VAT on 2340 at 17.5 %?",
    tasks=[
        TaskSpec(id="t", task="vat", worker="tool", tool="calculate"),
        TaskSpec(id="e", task="explain"),
    ],
)
TOOL = TaskResult(
    request_id="req-g",
    tenant="acme",
    task_id="t",
    model="tool:calculate",
    output="calculate\nexpression: 2340 * 17.5%\nresult: 409.5",
    exact_values=["409.5"],
)
EXPERT = TaskResult(request_id="req-g", task_id="e", output="VAT is a consumption tax.")


def test_a_faithful_answer_passes_untouched() -> None:
    checked = guard(PLAN, [TOOL, EXPERT], "The VAT is 409.50.", seq=4)
    assert (checked.text, checked.seq, checked.chunks, checked.corrections) == (
        "The VAT is 409.50.",
        4,
        [],
        [],
    )


def test_a_misquoted_value_gets_the_tool_block_appended_and_recorded() -> None:
    checked = guard(PLAN, [TOOL, EXPERT], "The VAT is 409.", seq=4)
    [chunk] = checked.chunks
    assert (chunk.seq, chunk.request_id, chunk.tenant) == (4, "req-g", "acme")
    assert chunk.delta == f"\n\n{NOTE}\n\n{TOOL.output}"
    assert checked.text == "The VAT is 409." + chunk.delta and checked.seq == 5
    [correction] = checked.corrections
    assert (correction.task_id, correction.tool, correction.missing) == (
        "t",
        "calculate",
        ["409.5"],
    )
    answer = AnswerCommitted(request_id="req-g", response_id="r", question="q", answer=checked.text)
    assert checked.recorded(answer).precision_corrections == [correction]


def test_failed_tools_and_expert_results_are_not_checked() -> None:
    failed = TOOL.model_copy(update={"error": "calculate: boom", "output": ""})
    assert guard(PLAN, [failed, EXPERT], "No numbers here.", seq=2).corrections == []


async def test_the_merger_corrects_a_judge_that_misquotes_a_tool() -> None:
    """The in-memory lane of tests/integration/test_precision_guard.py: the merger on
    FastStream's test broker, the judge a scripted model over real HTTP."""
    scripted = ScriptedModel()
    scripted.reset(Script(tokens=["The", " answer", " is", " 41", "."]))
    async with serve(create_scripted_app(scripted)) as url:
        server = InferenceServer(name="judge", url=f"{url}/v1", timeout=5)
        settings = MergerSettings(
            inference_servers=[server],
            judge_model="scripted-judge",
            judge_endpoint="judge",
            # The judge's answer alone: no thinking step or progress lines before it.
            thinking=False,
            progress=False,
        )
        broker = make_broker("unused:9092", "merger")
        create_app(settings, broker)
        seen = capture(broker, [REPLIES, ANSWERS])
        plan = PLAN.model_copy(update={"request_id": "req-m"})
        output = "calculate\nexpression: 6*7\nresult: 42"
        tool = TOOL.model_copy(
            update={"request_id": "req-m", "exact_values": ["42"], "output": output}
        )
        expert = EXPERT.model_copy(update={"request_id": "req-m"})
        async with TestKafkaBroker(broker) as test_broker:
            for event, topic in ((plan, PLANS), (tool, RESULTS), (expert, RESULTS)):
                await test_broker.publish(event.model_dump(mode="json"), topic)
            replies = await seen.wait_for(REPLIES, 7)
            [answer] = await seen.wait_for(ANSWERS)
    *judged, appended, done = replies
    assert [c.delta for c in judged] == ["The", " answer", " is", " 41", "."]
    assert isinstance(appended, ReplyChunk) and appended.seq == 5
    assert appended.delta == f"\n\n{NOTE}\n\ncalculate\nexpression: 6*7\nresult: 42"
    assert isinstance(done, ReplyDone) and done.seq == 6
    assert isinstance(answer, AnswerCommitted)
    assert answer.answer == "The answer is 41." + appended.delta
    assert [(c.tool, c.missing) for c in answer.precision_corrections] == [("calculate", ["42"])]
