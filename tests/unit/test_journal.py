"""Journals: checkpoints that cost what changed, folded into the state once; folding twice changes nothing."""

from homebrew_sync.journal import Journal, JournalEntry, effective_state, fold
from homebrew_sync.keys import STATE_KEY
from homebrew_sync.state import StateStore

from tests.helpers import record, sha

A, B = "a-1.0.arm64_sonoma.bottle.tar.gz", "b-1.0.arm64_sonoma.bottle.tar.gz"


def test_checkpoints_do_not_touch_the_state_and_one_fold_records_them(storage):
    store = StateStore(storage)
    journal = Journal(storage, "run-1", "shard-000-p0")
    journal.append(JournalEntry(run_id="run-1", bottles={A: record(A, sha("a"))}))
    journal.append(JournalEntry(run_id="run-1", bottles={B: record(B, sha("b"))}, succeeded=[A, B]))
    assert storage.read(STATE_KEY) is None  # nothing read or written but two small documents
    assert set(effective_state(storage, store).bottles) == {A, B}
    result = fold(storage, store, run_id="run-1")
    assert result.entries == 2 and set(store.load().bottles) == {A, B}
    assert list(storage.list("journal/")) == []
    before = storage.read(STATE_KEY).data
    assert fold(storage, store, run_id="run-1").entries == 0 and storage.read(STATE_KEY).data == before


def test_a_failure_counts_once_per_run_however_often_it_is_folded(storage):
    store = StateStore(storage)
    for run in ("run-1", "run-1", "run-2"):  # run-1's entry folded twice (a crash after the fold)
        Journal(storage, run, "cli").append(JournalEntry(run_id=run, failed={A: "sha256 mismatch"}))
        quarantined = fold(storage, store, run_id=run, quarantine_after=2).quarantined
    assert store.load().failures[A].count == 2 and quarantined == [A]
    Journal(storage, "run-3", "cli").append(JournalEntry(run_id="run-3", succeeded=[A]))
    fold(storage, store, run_id="run-3")
    assert A not in store.load().failures
