"""The benchmark's own arithmetic and its scripted-model features, without processes."""

from __future__ import annotations

import gc
import itertools

import httpx
import pytest
from rich.console import Console

from bench.client import Endpoint
from bench.config import BenchConfig, ModelTiming
from bench.graph_context import GraphSize, report_rows
from bench.latency import collector_paused, question
from bench.pipeline import question_text, task_text
from bench.real_model import RealModel, ServerRuns, questions
from bench.runner import lone_stream_warm_up, warm_up_question
from bench.scripted_llm import Script, ScriptedModel, create_scripted_app
from bench.stamps import read_stamps, stamp
from bench.stats import Compared, Distribution, percentile
from bench.table import real_model_table
from bench.throughput import ThroughputRun, closed_loop
from contracts import PlanCreated, TaskResult, TaskSpec
from services.merger.prompts import judge_messages
from tests.support.servers import serve


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_compared_reports_added_milliseconds_and_ratio() -> None:
    compared = Compared.of(
        Distribution.of_seconds([0.030, 0.030]), Distribution.of_seconds([0.020, 0.020])
    )
    assert compared.added_ms.p50 == pytest.approx(10.0)
    assert compared.ratio.p50 == pytest.approx(1.5)


def test_no_samples_give_null_figures_not_zeros() -> None:
    empty = Distribution.of_seconds([])
    assert (empty.n, empty.p50, empty.p99) == (0, None, None)
    assert Compared.of(empty, Distribution.of_seconds([0.01])).added_ms.p50 is None


def test_stamps_survive_a_round_trip_through_text() -> None:
    text = stamp(" w0", 1700000000.25) + stamp(" w1", 1700000000.5)
    assert read_stamps(text) == [1700000000.25, 1700000000.5]
    assert read_stamps("no stamps here") == []


def test_the_collector_is_off_only_while_a_request_is_timed() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the request failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # the caller had turned it off: left off
    finally:
        gc.enable()


def test_model_timing_knows_its_model_time() -> None:
    timing = ModelTiming(tokens=10, first_token_delay_ms=50, token_gap_ms=10)
    assert timing.model_ms == 140
    assert len(timing.script()["tokens"]) == 10


async def test_a_request_can_carry_its_own_timing_when_overrides_are_on() -> None:
    model = ScriptedModel(prompt_overrides=True, record_calls=False)
    model.reset(Script(tokens=["default"]))
    transport = httpx.ASGITransport(app=create_scripted_app(model, control=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://scripted") as client:
        body = {
            "model": "m",
            "messages": [{"role": "user", "content": 'x SCRIPT{"tokens": ["a"]}'}],
        }
        answer = (await client.post("/v1/chat/completions", json=body)).json()
        assert answer["choices"][0]["message"]["content"] == "a"
        await client.put("/_scripted/script", json={"tokens": ["b"], "stamp_tokens": True})
        body["messages"] = [{"role": "user", "content": "plain"}]
        answer = (await client.post("/v1/chat/completions", json=body)).json()
        assert len(read_stamps(answer["choices"][0]["message"]["content"])) == 1
        assert (await client.get("/_scripted/calls")).json() == {"count": 1, "by_model": {"m": 1}}
        assert model.calls == []


async def test_the_control_endpoint_scripts_and_counts_each_model_apart() -> None:
    model = ScriptedModel(record_calls=False)
    transport = httpx.ASGITransport(app=create_scripted_app(model, control=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://scripted") as client:
        script = {"tokens": ["answer"], "models": {"planner": {"tokens": ['{"tasks": []}']}}}
        await client.put("/_scripted/script", json=script)
        said = {}
        for name in ("planner", "expert", "expert"):
            body = {"model": name, "messages": [{"role": "user", "content": "q"}]}
            answer = (await client.post("/v1/chat/completions", json=body)).json()
            said[name] = answer["choices"][0]["message"]["content"]
        assert said == {"planner": '{"tasks": []}', "expert": "answer"}
        calls = (await client.get("/_scripted/calls")).json()
        assert calls == {"count": 3, "by_model": {"planner": 1, "expert": 2}}


def test_a_judge_prompt_takes_the_judges_timing_not_a_tasks() -> None:
    """The pipeline scenario's tasks and question each carry a timing; the judge's prompt
    quotes the tasks and ends with the question, so the question's timing must win."""
    judge, task = (
        ModelTiming(tokens=3, first_token_delay_ms=40, token_gap_ms=5),
        ModelTiming(tokens=7, first_token_delay_ms=90, token_gap_ms=10),
    )
    specs = [TaskSpec(id=str(i), task=task_text(i, task)) for i in (1, 2)]
    plan = PlanCreated(request_id="r", question=question_text(judge), tasks=specs)
    results = [TaskResult(request_id="r", task_id=s.id, output="fine") for s in specs]
    prompt = judge_messages(plan, results)
    assert task_text(1, task) in str(prompt[-1]["content"])  # the tasks' SCRIPTs are there
    script = ScriptedModel(prompt_overrides=True).script_for({"messages": prompt})
    assert len(script.tokens) == 3 and script.first_token_delay_s == 0.04
    expert = ScriptedModel(prompt_overrides=True).script_for(
        {"messages": [{"role": "user", "content": task_text(1, task)}]}
    )
    assert len(expert.tokens) == 7


async def test_an_answer_without_content_is_counted_apart_not_as_completed() -> None:
    # As llama-cpp-python's server ends a request that another one interrupted.
    model = ScriptedModel(record_calls=False)
    model.reset(Script(tokens=["never", "sent"], cut_after_tokens=0, cut_sends_done=True))
    async with serve(create_scripted_app(model)) as url:
        run = await closed_loop(Endpoint("direct", f"{url}/v1", "m"), 2, 0.2, max_tokens=8)
    assert run.empty > 0 and run.completed == 0 and run.errors == 0
    assert run.empty_share == 1.0 and run.ttft.n == 0 and run.requests_per_s == 0


def test_graph_context_rows_compare_the_task_with_the_driver() -> None:
    size = GraphSize(relations=139, service=[0.020, 0.030], direct=[0.005, 0.007], errors=1)
    [row] = report_rows([size])
    assert row.relations == 139 and row.errors == 1
    assert row.task.measured.p50 == 25.0 and row.task.baseline.p50 == 6.0
    assert row.task.added_ms.p50 == 19.0


def test_real_model_questions_are_never_repeated_across_runs() -> None:
    asked = [questions(run)(n) for run in ("s0-direct-c1", "s0-gateway-c1") for n in range(30)]
    assert len(set(asked)) == len(asked)


def test_the_real_model_table_shows_each_servers_runs() -> None:
    run = ThroughputRun(
        path="gateway", concurrency=4, seconds=4.0, completed=2, errors=1, requests_per_s=0.5,
        latency=Distribution.of_seconds([1.0, 2.0]), empty=1,
        ttft=Distribution.of_seconds([0.1, 0.2]),
    )  # fmt: skip
    real = RealModel(
        measured=True, model="m.gguf", max_tokens=8, seconds_per_level=4.0,
        servers=[ServerRuns(server="llama-server --parallel 4 (chosen)", command="x", runs=[run])],
    )  # fmt: skip
    console = Console(width=200, record=True)
    console.print(real_model_table(real))
    text = console.export_text()
    assert "llama-server --parallel 4" in text and "25% (1)" in text and "150 / 199" in text


async def test_the_lone_stream_warm_up_asks_one_at_a_time_what_no_timed_row_asks() -> None:
    model = ScriptedModel()
    model.reset(Script(tokens=["a", "b"], token_gap_s=0.005))
    config = BenchConfig(lone_stream_warm_up_seconds=0.3)
    async with serve(create_scripted_app(model)) as url:
        await lone_stream_warm_up(config, Endpoint("gateway", f"{url}/v1", "m"))
    asked = [call["messages"][-1]["content"] for call in model.calls]
    assert len(asked) >= 2 and len(set(asked)) == len(asked)
    spans = sorted((started, ended) for _, started, ended in model.spans)
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))
    # The single-expert rows' and the load warm-up's questions: a repeat would be an
    # answer-cache hit in the timed rows.
    elsewhere = {question(n) for n in range(1000)} | {warm_up_question(n) for n in range(1000)}
    assert not elsewhere & set(asked)
