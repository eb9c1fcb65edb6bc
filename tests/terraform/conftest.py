"""Session fixtures for the real-Terraform tests: a moto server, an initialised copy of terraform/, cached plans.

When terraform or the provider mirror is absent the fixtures skip with a message naming what is missing,
and the end of the pytest run repeats it, so a green run without them is never mistaken for a full one.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from moto.server import ThreadedMotoServer

from tests.terraform import tf


def _require_terraform() -> None:
    absent = tf.missing()
    if absent:
        pytest.skip(f"real Terraform tests need: {absent}")


def pytest_terminal_summary(terminalreporter):
    absent = tf.missing()
    if absent:
        terminalreporter.write_line(f"REAL TERRAFORM TESTS SKIPPED - missing: {absent}", yellow=True, bold=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server():
    """A moto server on 127.0.0.1 answering every AWS API the provider calls; yields its endpoint URL."""
    _require_terraform()
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tf_cli_config(tmp_path_factory):
    """A CLI config file that installs providers from the local mirror only."""
    _require_terraform()
    return tf.write_cli_config(tmp_path_factory.mktemp("tf-cli"), tf.mirror_root())


@pytest.fixture(scope="session")
def tf_root(tmp_path_factory, moto_server, tf_cli_config) -> tf.Terraform:
    """terraform/ copied to a tmp dir, its aws provider pointed at moto, `init -backend=false` done once."""
    root = tf.copy_root(tmp_path_factory.mktemp("tf-root"), moto_server)
    terraform = tf.Terraform(root, tf_cli_config)
    terraform.init()
    return terraform


@pytest.fixture(scope="session")
def tf_plan(tf_root, tmp_path_factory):
    """tf_plan(tfvars) -> `terraform show -json` of a plan for those variables (cached per variable set).

    `tf_plan.prefetch(tfvars, ...)` starts several plans at once (they share nothing but the read-only
    working directory); a later tf_plan(tfvars) waits for its own.
    """
    workdir = tmp_path_factory.mktemp("tf-plans")
    pool = ThreadPoolExecutor(max_workers=3)
    futures: dict[str, Future] = {}
    lock = threading.Lock()

    def run_plan(index: int, tfvars: dict) -> dict:
        var_file = tf.write_tfvars(workdir / f"plan-{index}.tfvars.json", tfvars)
        planfile = str(workdir / f"plan-{index}.tfplan")
        tf_root.run("plan", "-no-color", "-input=false", "-lock=false", f"-var-file={var_file}", f"-out={planfile}")
        return tf_root.show_json(planfile)

    def submit(tfvars: dict | None) -> Future:
        tfvars = dict(tfvars or {})
        key = tf.tfvars_key(tfvars)
        with lock:
            if key not in futures:
                futures[key] = pool.submit(run_plan, len(futures), tfvars)
            return futures[key]

    def plan(tfvars: dict | None = None) -> dict:
        return submit(tfvars).result()

    plan.prefetch = lambda *sets: [submit(tfvars) for tfvars in sets]
    yield plan
    pool.shutdown(wait=True, cancel_futures=True)


# The variables of the applied deployment: the defaults (what a first `terraform apply` creates).
APPLIED_TFVARS: dict = {}


@pytest.fixture(scope="session")
def tf_applied(tf_root, tmp_path_factory):
    """`terraform apply` of the defaults against moto, in a copy of the initialised root (the plans keep
    theirs clean). Returns the terraform handle, the var file, the apply process and `show -json`."""
    workdir = tmp_path_factory.mktemp("tf-apply") / "terraform"
    shutil.copytree(tf_root.workdir, workdir, symlinks=True)
    shutil.copytree(tf_root.workdir.parent / "build", workdir.parent / "build")
    terraform = tf.Terraform(workdir, tf_root.env["TF_CLI_CONFIG_FILE"])
    var_file = tf.write_tfvars(workdir / "test.tfvars.json", APPLIED_TFVARS)
    proc = terraform.run(
        "apply", "-auto-approve", "-no-color", "-input=false", "-parallelism=20", f"-var-file={var_file}", check=False
    )
    state = json.loads(terraform.run("show", "-json").stdout)
    return {"terraform": terraform, "var_file": var_file, "apply": proc, "state": state}
