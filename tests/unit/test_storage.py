"""The storage contract, run against the local folder and S3 (moto)."""

import hashlib
import threading

import pytest
from homebrew_sync.errors import IntegrityError, PreconditionFailed
from homebrew_sync.storage.local import LocalStorage

DATA = b"x" * 1000
SHA = hashlib.sha256(DATA).hexdigest()


def chunks(data, size=300):
    return [data[i : i + size] for i in range(0, len(data), size)]


def bottle_keys(storage):
    return sorted(info.key for info in storage.list())


def test_put_verified_stores_matching_bytes(storage):
    assert storage.put_verified("2025-01-01/a.tar.gz", chunks(DATA), sha256=SHA, size=len(DATA)) == len(DATA)
    assert b"".join(storage.iter_bytes("2025-01-01/a.tar.gz")) == DATA
    info = storage.stat("2025-01-01/a.tar.gz")
    assert info.size == len(DATA)
    assert bottle_keys(storage) == ["2025-01-01/a.tar.gz"]


@pytest.mark.parametrize(
    ("data", "size"),
    [(DATA[:-1] + b"y", len(DATA)), (DATA[:500], len(DATA)), (DATA + b"z", len(DATA)), (DATA[:500], None)],
    ids=["wrong-bytes", "short", "long", "short-unknown-size"],
)
def test_put_verified_refuses_and_leaves_nothing(storage, data, size):
    with pytest.raises(IntegrityError):
        storage.put_verified("a.tar.gz", chunks(data), sha256=SHA, size=size)
    assert storage.stat("a.tar.gz") is None
    assert bottle_keys(storage) == []


def test_large_objects_go_multipart_and_are_aborted_on_mismatch(storage):
    big = bytes(range(256)) * (48 * 1024)  # 12 MiB: several 5 MiB parts on S3
    digest = hashlib.sha256(big).hexdigest()
    storage.put_verified("big.tar.gz", chunks(big, 1 << 20), sha256=digest, size=len(big))
    assert hashlib.sha256(b"".join(storage.iter_bytes("big.tar.gz"))).hexdigest() == digest
    with pytest.raises(IntegrityError):
        storage.put_verified("bad.tar.gz", chunks(big[:-1] + b"!", 1 << 20), sha256=digest, size=len(big))
    assert storage.stat("bad.tar.gz") is None
    if hasattr(storage, "client"):
        uploads = storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])
        assert uploads == []
        head = storage.client.head_object(Bucket=storage.bucket, Key=storage.prefix + "big.tar.gz")
        assert head["ETag"].strip('"').endswith("-3")  # S3's ETag of a multipart upload of 3 parts


def test_copy_verified(storage):
    storage.put_verified("a.tar.gz", [DATA], sha256=SHA, size=len(DATA))
    storage.copy_verified("a.tar.gz", "2025-01-01/b.tar.gz", sha256=SHA, size=len(DATA))
    assert b"".join(storage.iter_bytes("2025-01-01/b.tar.gz")) == DATA


def test_conditional_writes(storage):
    etag = storage.write("doc.json", b"1", if_absent=True)
    with pytest.raises(PreconditionFailed):
        storage.write("doc.json", b"2", if_absent=True)
    with pytest.raises(PreconditionFailed):
        storage.write("doc.json", b"2", if_match='"stale"')
    new = storage.write("doc.json", b"2", if_match=etag)
    assert storage.read("doc.json").data == b"2"
    with pytest.raises(PreconditionFailed):
        storage.delete("doc.json", if_match=etag)
    storage.delete("doc.json", if_match=new)
    assert storage.read("doc.json") is None


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "a/../b", "a\\b", ".", ""])
def test_unsafe_keys_are_refused(storage, key):
    from homebrew_sync.errors import UnsafeInputError

    with pytest.raises(UnsafeInputError):
        storage.write(key, b"1")


def test_local_enospc_leaves_no_partial_file(tmp_path, monkeypatch):
    import errno

    from homebrew_sync.errors import StorageError

    storage = LocalStorage(tmp_path)

    def stream():
        yield DATA[:500]
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(StorageError, match="no space left"):
        storage.put_verified("d/a.tar.gz", stream(), sha256=SHA, size=len(DATA))
    assert list(tmp_path.rglob("*a.tar.gz*")) == []


def test_local_concurrent_conditional_writers_serialise(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.write("n.json", b"0")
    wins = []

    def bump():
        for _ in range(20):
            while True:
                doc = storage.read("n.json")
                try:
                    storage.write("n.json", str(int(doc.data) + 1).encode(), if_match=doc.etag)
                    wins.append(1)
                    break
                except PreconditionFailed:
                    continue

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert int(storage.read("n.json").data) == 80 == len(wins)
