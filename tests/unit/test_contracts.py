import pytest
from pydantic import ValidationError

from contracts import (
    CONTRACT_VERSION,
    EVENT_ADAPTER,
    AnswerCommitted,
    CachedAnswer,
    ChatMessage,
    DeadLetter,
    FeedbackGiven,
    PlanCreated,
    ReplyChunk,
    ReplyDone,
    ReplyError,
    RequestReceived,
    TaskAssigned,
    TaskResult,
    TaskSpec,
    WorkerHeartbeat,
)
from contracts.topics import (
    PARTITIONS,
    PLANS,
    RESULTS,
    WORKER_KINDS,
    task_topic,
    topic_partitions,
)

SPEC = TaskSpec(id="t1", task="do it")
EXAMPLES = [
    RequestReceived(request_id="r", model="m", messages=[ChatMessage(role="user", content="q")]),
    PlanCreated(request_id="r", tasks=[SPEC], streaming_task_id="t1"),
    TaskAssigned(request_id="r", task=SPEC, messages=[ChatMessage(role="user", content="q")]),
    TaskResult(request_id="r", task_id="t1", output="a", confidence="high"),
    ReplyChunk(request_id="r", seq=0, delta="a"),
    ReplyDone(request_id="r", seq=1),
    ReplyError(request_id="r", message="boom"),
    AnswerCommitted(request_id="r", response_id="chatcmpl-r", question="q", answer="a"),
    FeedbackGiven(request_id="r", response_id="chatcmpl-r", rating=1),
    WorkerHeartbeat(worker_id="w1", service="experts", capabilities=["general"]),
    DeadLetter(request_id="r", original_topic="t", original_value="x", error="e", consumer="c"),
]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.kind)
def test_every_event_round_trips_through_the_union(event) -> None:  # type: ignore[no-untyped-def]
    decoded = EVENT_ADAPTER.validate_json(event.model_dump_json())
    assert type(decoded) is type(event) and decoded == event
    assert decoded.contract_version == CONTRACT_VERSION and decoded.tenant == "default"


def test_unknown_kind_is_rejected_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="kind"):
        EVENT_ADAPTER.validate_python({"kind": "request.exploded", "request_id": "r"})


def test_unknown_fields_from_a_newer_producer_are_ignored() -> None:
    payload = EXAMPLES[4].model_dump(mode="json") | {"added_in_v1_1": True}
    assert EVENT_ADAPTER.validate_python(payload) == EXAMPLES[4]


def test_request_needs_messages_and_a_request_id() -> None:
    with pytest.raises(ValidationError, match="messages"):
        RequestReceived(request_id="r", model="m", messages=[])
    with pytest.raises(ValidationError, match="request_id"):
        ReplyChunk(request_id="", seq=0, delta="a")


def test_a_plan_has_tasks_unless_it_is_a_cache_hit() -> None:
    with pytest.raises(ValidationError, match="at least one task"):
        PlanCreated(request_id="r", tasks=[])
    hit = CachedAnswer(response_id="chatcmpl-old", answer="a")
    decoded = EVENT_ADAPTER.validate_json(
        PlanCreated(request_id="r", cache_hit=hit).model_dump_json()
    )
    assert isinstance(decoded, PlanCreated) and decoded.cache_hit == hit and decoded.tasks == []


def test_usage_reports_its_total() -> None:
    done = ReplyDone.model_validate(
        {"request_id": "r", "seq": 0, "usage": {"prompt_tokens": 2, "completion_tokens": 3}}
    )
    assert done.model_dump()["usage"]["total_tokens"] == 5


@pytest.mark.parametrize("count", [1, 2, 8])
def test_plans_and_results_are_co_partitioned(count: int) -> None:
    partitions = topic_partitions(count)
    assert partitions[PLANS] == partitions[RESULTS] == count
    assert all(partitions[task_topic(kind)] == count for kind in WORKER_KINDS)
    assert topic_partitions() == PARTITIONS


def test_a_topic_needs_a_partition() -> None:
    with pytest.raises(ValueError, match="at least one"):
        topic_partitions(0)
