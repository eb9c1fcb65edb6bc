"""Publishing the staged API files: each copied only from verified bytes, formula.jws.json last."""

import hashlib

from homebrew_sync.publish import StagedFile, publish_api
from homebrew_sync.storage.local import LocalStorage


def staged(storage, name: str) -> StagedFile:
    data = f'{{"name": "{name}"}}'.encode()
    sha = hashlib.sha256(data).hexdigest()
    staged_key = f"runs/r1/api/{name}"
    storage.put_verified(staged_key, [data], sha256=sha, size=len(data))
    return StagedFile(name=name, staged_key=staged_key, key=f"api/{name}", sha256=sha, size=len(data))


def test_formula_jws_is_published_last_and_the_staged_copies_go(tmp_path):
    storage = LocalStorage(tmp_path / "mirror")
    names = ["formula.jws.json", "cask.jws.json", "internal/packages.arm64_sonoma.jws.json"]
    files = [staged(storage, name) for name in names]
    published = publish_api(storage, files)
    assert published[-1] == "api/formula.jws.json" and sorted(published) == sorted(f.key for f in files)
    for file in files:
        assert storage.stat(file.key) is not None and storage.stat(file.staged_key) is None
