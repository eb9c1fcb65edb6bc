"""Bad destinations, unreachable storage and bad settings: one clear line on stderr and exit 2, never a traceback."""

import boto3
import pytest
from homebrew_sync.storage import s3

from tests.integration.conftest import run_cli


def assert_one_clear_line(result, says: str) -> None:
    assert result.code == 2, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and says in lines[0], result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--dest", "s3://mirror/../.."], "unsafe S3 prefix '../..'"),
        (["--dest", "s3://mirror/a//b"], "unsafe S3 prefix"),
        (["--dest", "s3://mirror/.hidden/x"], "no segment may start with '.'"),
        (["--dest", "s3://Not_A_Bucket/x"], "invalid S3 bucket name 'Not_A_Bucket'"),
        (["--formula", "../../etc"], "unsafe formula name: '../../etc'"),
    ],
)
def test_unsafe_destinations_and_names_are_refused(tmp_path, args, says):
    assert_one_clear_line(run_cli("sync", *args), says)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("HOMEBREW_SYNC_PREFIX", "x/../..", "unsafe S3 prefix 'x/../..'"),
        ("HOMEBREW_SYNC_READ_TIMEOUT_S", "inf", "read_timeout_s: Input should be a finite number"),
        ("HOMEBREW_SYNC_CONNECT_TIMEOUT_S", "1e9", "connect_timeout_s: Input should be less than or equal to 300"),
        ("HOMEBREW_SYNC_SIZE_THRESHOLD_GB", "inf", "size_threshold_gb: Input should be a finite number"),
        ("HOMEBREW_SYNC_STOP_GRACE_S", "nan", "stop_grace_s: Input should be a finite number"),
        ("HOMEBREW_SYNC_LOCK_TTL_S", "99999999999", "lock_ttl_s: Input should be less than or equal to 86400"),
        ("HOMEBREW_SYNC_CHECKPOINT_EVERY", "99999999999", "checkpoint_every: Input should be less than or equal"),
    ],
)
def test_settings_out_of_bounds_are_refused(monkeypatch, variable, value, says):
    monkeypatch.setenv("HOMEBREW_SYNC_BUCKET", "mirror")
    monkeypatch.setenv(variable, value)
    assert_one_clear_line(run_cli("sync"), says)


def test_a_destination_that_is_a_file(tmp_path):
    target = tmp_path / "mirror"
    target.write_text("not a folder")
    assert_one_clear_line(run_cli("sync", "--dest", str(target)), f"is not a folder ({target} is a file)")
    assert_one_clear_line(run_cli("verify", "--dest", str(target / "below")), f"({target} is a file)")


def test_an_unreachable_s3_endpoint(monkeypatch):
    monkeypatch.setattr(s3, "S3_MAX_ATTEMPTS", 1)
    result = run_cli("sync", "--dest", "s3://mirror/x", "--s3-endpoint-url", "http://127.0.0.1:9")
    assert_one_clear_line(result, "cannot write s3://mirror/x/locks/sync.lock: cannot reach http://127.0.0.1:9")


def test_missing_aws_credentials(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it caches the credentials it found
    result = run_cli("sync", "--dest", "s3://mirror/x", "--s3-endpoint-url", "http://127.0.0.1:9")
    assert_one_clear_line(result, "no AWS credentials found")


def test_an_unexpected_error_is_one_line_too(monkeypatch, tmp_path):
    import homebrew_sync.cli.main

    def broken(*_args, **_kwargs):
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(homebrew_sync.cli.main, "_sync", broken)
    assert_one_clear_line(run_cli("sync", "--dest", str(tmp_path)), "unexpected RuntimeError: something broke")


def test_a_mistyped_variable_is_named_with_the_closest_valid_one(sync, monkeypatch):
    monkeypatch.setenv("HOMEBREW_SYNC_CONCURENCY", "2")
    result = sync("--dry-run")
    assert result.code == 0
    assert (
        "warning: unknown environment variable ignored variable=HOMEBREW_SYNC_CONCURENCY "
        "did_you_mean=HOMEBREW_SYNC_CONCURRENCY" in result.err
    )


def test_formulae_the_api_does_not_list_are_reported_and_none_is_exit_2(sync, upstream):
    none = sync("--formula", "no-such-formula", "--formula", "nor-this")
    assert_one_clear_line(none, "none of the requested formulae is listed by the API: no-such-formula, nor-this")
    real = next(n for n in upstream.catalogue.names() if not upstream.catalogue.find(n)["disabled"])
    some = sync("--formula", real, "--formula", "no-such-formula", "--dry-run")
    assert some.code == 0 and "requested formulae not listed by the API formulae=no-such-formula" in some.err
