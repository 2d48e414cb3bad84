"""The planner-paths section's questions, report and targets, without processes: the
paraphrases are within the semantic cache's hit threshold by the planner's own embedder,
the vague questions are left to the LLM planner, and the figures reach the targets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from bench.config import BenchConfig
from bench.planner_paths import ChartPanels, Samples, measure_planner_paths, report
from bench.planner_questions import ANSWER, CACHED, PLAN, answer_tokens, paraphrases, vague
from bench.planner_stack import EXPERT_MODEL, PLANNER_MODEL
from bench.stamps import stamp
from bench.targets import PLANNED_TTFT_ALLOWANCE_MS, planner_paths_targets
from contracts.expert_report import EXPERT_CATEGORIES
from contracts.inference import InferenceServer
from services.planner.embeddings import LocalEmbedder
from services.planner.llm_planner import LlmPlanner
from services.planner.precision import split as precise_part
from services.planner.router import DEFAULT_PROTOTYPES, SemanticRouter
from services.planner.semantic_cache import MIN_ANSWER_CHARS
from services.planner.settings import PlannerSettings
from services.planner.tool_catalog import ToolCatalog


@pytest.fixture(scope="module")
async def embedder() -> AsyncIterator[LocalEmbedder]:
    local = LocalEmbedder()
    await local.start()
    yield local
    await local.aclose()


async def test_every_paraphrase_is_new_text_within_the_hit_threshold(
    embedder: LocalEmbedder,
) -> None:
    texts = list(paraphrases())
    assert len(set(texts)) == len(texts) and CACHED not in texts
    # The timed ones and the polls until the semantic cache serves them.
    assert len(texts) >= BenchConfig().semantic_requests * 4
    vectors = await embedder.embed([CACHED, *texts])
    distances = 1 - vectors[1:] @ vectors[0]
    assert float(np.max(distances)) < PlannerSettings().cache_hit_threshold


async def test_the_vague_questions_are_left_to_the_llm_planner(embedder: LocalEmbedder) -> None:
    questions = [vague(number) for number in range(BenchConfig().planned_requests + 2)]
    assert len(set(questions)) == len(questions)
    router = SemanticRouter(embedder, DEFAULT_PROTOTYPES, 0.68, 0.10)
    await router.start()
    vectors = await embedder.embed([CACHED, *questions])
    assert all(router.route(vector) is None for vector in vectors[1:])
    assert float(np.min(1 - vectors[1:] @ vectors[0])) > 0.5  # no semantic hit of CACHED
    assert all(precise_part(question) is None for question in questions)


def test_the_scripted_answers_are_what_the_paths_need() -> None:
    assert len(ANSWER) > MIN_ANSWER_CHARS  # the semantic cache keeps it
    assert "".join(answer_tokens(ANSWER)) == ANSWER
    tokens = BenchConfig().planned_expert_model.script(stamp_tokens=True)["tokens"]
    assert len("".join(stamp(token) for token in tokens)) < MIN_ANSWER_CHARS  # not kept
    server = InferenceServer(name="scripted", url="http://unused/v1")
    catalog = ToolCatalog("http://unused")
    planner = LlmPlanner(server, PLANNER_MODEL, list(EXPERT_CATEGORIES), catalog, 1.0, False)
    [task] = planner.parse("r", PLAN).tasks  # what the planner makes of the scripted plan
    assert task.worker == "expert" and task.category == "general"


def test_the_report_compares_each_path_with_its_baseline_and_feeds_the_targets() -> None:
    semantic = Samples(measured=[0.020, 0.024], baseline=[0.010, 0.012])
    planned = Samples(measured=[0.120, 0.130], baseline=[0.085, 0.095], errors=1)
    planned.calls = {PLANNER_MODEL: 2, EXPERT_MODEL: 2}
    paths = report(BenchConfig(), semantic, planned)
    assert paths.semantic_hit is not None and paths.semantic_hit.ratio.p50 == 2.0
    assert paths.planner_model_calls == paths.expert_model_calls == 2
    assert paths.planned_limit_p50_ms == 90.0 + PLANNED_TTFT_ALLOWANCE_MS
    semantic_target, ttft_target = planner_paths_targets(paths)
    assert semantic_target.value == 2.0 and semantic_target.met is True
    assert ttft_target.value == 125.0 and ttft_target.met is False
    assert ttft_target.note is not None and "1 errors" in ttft_target.note


async def test_quick_mode_skips_the_section_and_says_so() -> None:
    paths = await measure_planner_paths(BenchConfig.quick_mode())
    assert not paths.measured and paths.reason is not None and "--quick" in paths.reason
    targets = planner_paths_targets(paths)
    assert all(target.met is None and target.note == paths.reason for target in targets)


async def test_the_section_measures_both_paths_on_a_real_stack(tmp_path: Path) -> None:
    """Its own broker, services and scripted model, a few requests of each kind: the
    cache rows reach no model, each planned question the planner model and the expert
    once, and both targets get a verdict."""
    config = BenchConfig.quick_mode().model_copy(
        update={"planner_paths": True, "log_dir": tmp_path, "paths_warm_up_requests": 3}
    )
    chart: ChartPanels = {}
    paths = await measure_planner_paths(config, chart)
    assert paths.measured, paths.reason
    assert paths.semantic_errors == 0 and paths.semantic_model_calls == 0, paths.last_error
    assert paths.planned_errors == 0, paths.last_error
    assert paths.planner_model_calls == paths.expert_model_calls == config.planned_requests
    assert paths.semantic_hit is not None and paths.semantic_hit.measured.n == 3
    assert paths.planned_ttft is not None and paths.planned_ttft.baseline.n == 3
    assert all(target.met is not None for target in planner_paths_targets(paths))
    # Both rows reach the chart: each series of each panel has its timed requests.
    assert len(chart) == 2 and all(len(series) == 2 for series in chart.values())
    assert all(len(s) == 3 for series in chart.values() for s in series.values()), chart
