"""At-least-once AWS: a failed dispatch, a pointer delivered twice at once, a continuation that did not start."""

import threading
from collections import Counter

import homebrew_sync.engine
import pytest
from botocore.exceptions import ClientError
from homebrew_sync.aws import dispatch

from tests.aws.conftest import ORCHESTRATOR, WORKER, RecordingDispatcher, load_event, orchestrator_context
from tests.aws.conftest import worker_context as context
from tests.integration.conftest import expected_files

THROTTLED = ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke")


class FailingOnce(RecordingDispatcher):
    """The first start of a worker fails (throttling); later ones are recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = 0

    def _maybe_fail(self) -> None:
        if not self.failed:
            self.failed += 1
            raise THROTTLED

    def invoke_worker(self, run_id, shard_key, *, function=None):
        self._maybe_fail()
        super().invoke_worker(run_id, shard_key, function=function)

    def run_task(self, run_id, shard_key, shard):
        self._maybe_fail()
        super().run_task(run_id, shard_key, shard)


@pytest.fixture
def failing_once():
    recorder = FailingOnce()
    dispatch.use_dispatcher(lambda _settings: recorder)
    yield recorder
    dispatch.use_dispatcher(dispatch.AwsDispatcher)


def blob_gets(upstream) -> Counter:
    return Counter(r.sha256 for r in upstream.requests if r.host == "blob" and r.status == 200)


def run_queued(recorder, start=0):
    reports = []
    while start < len(recorder.lambda_calls):
        run_id, key, _function = recorder.lambda_calls[start]
        start += 1
        reports.append(WORKER({"run_id": run_id, "shard_key": key}, context()))
    return reports


@pytest.mark.parametrize("route", ["lambda", "ecs"])
def test_a_dispatch_that_fails_once_is_started_by_the_redelivered_event(aws_world, failing_once, monkeypatch, route):
    if route == "ecs":
        monkeypatch.setenv("HOMEBREW_SYNC_SIZE_THRESHOLD_GB", "0.000001")
    event = load_event("scheduled.json")
    with pytest.raises(Exception, match="TooManyRequestsException"):
        ORCHESTRATOR(event, orchestrator_context())
    assert failing_once.lambda_calls == failing_once.ecs_calls == []
    assert "locks/sync.lock" in aws_world.object_keys()  # the run keeps its lease for the redelivery
    assert "a retry of the trigger starts the shards not started" in aws_world.webhook.texts()[-1]

    again = ORCHESTRATOR(event, orchestrator_context())  # EventBridge / Lambda retry the same event
    run_id = again["run_id"]
    assert (again["status"], again["redelivered"]) == ("started", 1)
    calls = failing_once.lambda_calls if route == "lambda" else failing_once.ecs_calls
    assert [call[1] for call in calls] == [f"runs/{run_id}/shard-000-p0.json"]
    third = ORCHESTRATOR(event, orchestrator_context())
    assert third == {"status": "duplicate", "run_id": run_id} and len(calls) == 1
    if route == "ecs":
        return
    [report] = run_queued(failing_once)
    assert report["finished"]
    summary = aws_world.json(f"runs/{run_id}/summary.json")
    assert summary["downloaded"] + summary["copied"] == len(expected_files(aws_world.upstream))
    assert set(blob_gets(aws_world.upstream).values()) == {1}
    assert sum("Sync Complete" in t for t in aws_world.webhook.texts()) == 1
    assert "locks/sync.lock" not in aws_world.object_keys()


class AtomicConditionalWrites:
    """S3 decides a conditional write atomically; moto checks, then writes. Serialise writes like S3."""

    lock = threading.Lock()

    def __init__(self, inner):
        self.inner = inner
        self.url = inner.url

    def write(self, *args, **kwargs):
        with self.lock:
            return self.inner.write(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with self.lock:
            return self.inner.delete(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_two_identical_worker_events_at_the_same_time_fetch_each_blob_once(aws_world, dispatcher, monkeypatch):
    open_storage = homebrew_sync.engine.open_storage
    monkeypatch.setattr(
        homebrew_sync.engine, "open_storage", lambda settings: AtomicConditionalWrites(open_storage(settings))
    )
    started = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    [(run_id, key, _function)] = dispatcher.lambda_calls
    barrier = threading.Barrier(2)
    reports = []

    def deliver():
        barrier.wait()
        reports.append(WORKER({"run_id": run_id, "shard_key": key}, context()))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(r["duplicate"] for r in reports) == [False, True]
    gets = blob_gets(aws_world.upstream)
    assert gets and set(gets.values()) == {1}, gets
    summary = aws_world.json(f"runs/{run_id}/summary.json")
    assert summary["downloaded"] + summary["copied"] == started["planned"]
    assert sum("Sync Complete" in t for t in aws_world.webhook.texts()) == 1


def test_a_continuation_whose_start_failed_is_started_by_the_retried_event(aws_world, dispatcher, monkeypatch):
    monkeypatch.setenv("HOMEBREW_SYNC_CONCURRENCY", "1")
    monkeypatch.setenv("HOMEBREW_SYNC_LAMBDA_TIME_MARGIN_S", "60")
    started = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    [(run_id, key, _function)] = dispatcher.lambda_calls
    invoke = dispatcher.invoke_worker
    monkeypatch.setattr(dispatcher, "invoke_worker", lambda *a, **kw: (_ for _ in ()).throw(THROTTLED))
    delivery = context(out_of_time_after=2)
    with pytest.raises(ClientError):
        WORKER({"run_id": run_id, "shard_key": key}, delivery)
    monkeypatch.setattr(dispatcher, "invoke_worker", invoke)
    retried = WORKER({"run_id": run_id, "shard_key": key}, context())  # Lambda retries the failed event
    assert retried["duplicate"] and retried["continuation"] == f"runs/{run_id}/shard-000-p1.json"
    assert [call[1] for call in dispatcher.lambda_calls[1:]] == [retried["continuation"]]
    reports = run_queued(dispatcher, start=1)
    assert reports[-1]["finished"]
    summary = aws_world.json(f"runs/{run_id}/summary.json")
    assert summary["downloaded"] + summary["copied"] == started["planned"] and summary["not_started"] == 0


@pytest.mark.parametrize(
    ("pointer", "says"),
    [
        ({"run_id": "sched-1", "shard_key": "runs/sched-1/shard-000-p0.json"}, "does not exist"),
        ({"run_id": "sched-1", "shard_key": "runs/other/shard-000-p0.json"}, "does not belong to run sched-1"),
        ({"run_id": "sched-1", "shard_key": "runs/sched-1/../x.json"}, "does not belong to run sched-1"),
        ({"run_id": "../..", "shard_key": "runs/x/shard-000-p0.json"}, "invalid run id"),
    ],
)
def test_a_bad_pointer_is_rejected_not_raised(aws_world, pointer, says):
    result = WORKER(pointer, context())
    assert result["status"] == "rejected" and says in result["error"]
    assert aws_world.object_keys() == []


@pytest.mark.parametrize("mode", ["timeout", "retried"])
def test_a_sharded_run_finishes_once_when_every_conditional_write_loses_its_response(
    aws_world, dispatcher, monkeypatch, mode
):
    from homebrew_sync.aws import orchestrator

    from tests.resilience.crash import lose_responses

    monkeypatch.setenv("HOMEBREW_SYNC_MAX_SHARDS", "3")
    monkeypatch.setattr(orchestrator, "SHARD_MIN_BYTES", 1)
    landed = lose_responses(monkeypatch.setattr, mode)
    started = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    run_id = started["run_id"]
    assert (started["status"], started["shards"]) == ("started", 3) and len(dispatcher.lambda_calls) == 3
    reports = run_queued(dispatcher)
    assert [r["finished"] for r in reports] == [False, False, True] and not any(r["duplicate"] for r in reports)
    for key in ("locks/sync.lock", f"runs/{run_id}/run.json", f"runs/{run_id}/summary.json"):
        assert f"write {key}" in landed
    assert any(entry.startswith(f"write runs/{run_id}/claims/") for entry in landed)
    summary = aws_world.json(f"runs/{run_id}/summary.json")
    assert summary["downloaded"] + summary["copied"] == started["planned"] and summary["failed"] == 0
    assert set(blob_gets(aws_world.upstream).values()) == {1}
    assert sum("Sync Complete" in t for t in aws_world.webhook.texts()) == 1
    assert "locks/sync.lock" not in aws_world.object_keys()
