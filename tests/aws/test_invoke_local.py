"""scripts/invoke_local.py: the whole AWS flow on one machine; Lambda and ECS routes leave the same mirror."""

import json
import os
import subprocess
import sys

import boto3

from fakes.catalogue import generate_catalogue
from fakes.server import FakeUpstream
from tests.aws.conftest import ROOT
from tests.integration.conftest import FAST_RETRIES, expected_files


def invoke(endpoint: str, bucket: str, upstream: FakeUpstream, *extra: str) -> tuple[int, dict, str]:
    script = str(ROOT / "scripts" / "invoke_local.py")
    command = [
        sys.executable,
        script,
        "--s3-endpoint",
        endpoint,
        "--bucket",
        bucket,
        "--json",
        *upstream.cli_args(),
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEBREW_SYNC_")}
    env.update(FAST_RETRIES, HOMEBREW_SYNC_DATE="2025-07-20")
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1]), done.stdout


def mirror(s3, bucket: str) -> tuple[list[str], dict]:
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []) if o["Key"].endswith(".gz"))
    state = json.loads(s3.get_object(Bucket=bucket, Key="bottles_hash.json")["Body"].read())["bottles"]
    return keys, {file: (r["sha256"], r["key"], r["size"]) for file, r in state.items()}


def test_lambda_and_ecs_routes_leave_the_same_mirror(moto_server):
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    for bucket in ("via-lambda", "via-ecs"):
        s3.create_bucket(Bucket=bucket)
    with FakeUpstream(generate_catalogue(16, seed=11)) as upstream:
        code, lam, out = invoke(moto_server, "via-lambda", upstream)
        assert code == 0, out
        assert (lam["route"], lam["shards"], lam["failed"]) == ("lambda", 1, 0)
        assert lam["downloaded"] + lam["copied"] == lam["planned"] == len(expected_files(upstream))
        assert "🚀 Homebrew Bottles Sync Started" in out and "✅ Homebrew Bottles Sync Complete" in out

        code, ecs, out = invoke(moto_server, "via-ecs", upstream, "--size-threshold-gb", "0.000001")
        assert code == 0, out
        assert (ecs["route"], ecs["ecs_requests"], ecs["failed"]) == ("ecs", 1, 0)
        assert ecs["planned"] == lam["planned"]
        assert "⏳ Homebrew Sync Progress" in out

    assert mirror(s3, "via-lambda") == mirror(s3, "via-ecs")
    assert len(mirror(s3, "via-ecs")[0]) == lam["planned"]
