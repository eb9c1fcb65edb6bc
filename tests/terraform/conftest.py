"""Session fixtures for the real-Terraform tests: a moto server, an initialised copy of terraform/, cached plans.

When terraform or the provider mirror is absent the fixtures skip with a message naming what is missing,
and the end of the pytest run repeats it (tests/conftest.py), so a green run without them is never
mistaken for a full one.
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
    outputs: dict[str, str] = {}
    lock = threading.Lock()

    def run_plan(index: int, tfvars: dict) -> dict:
        var_file = tf.write_tfvars(workdir / f"plan-{index}.tfvars.json", tfvars)
        planfile = str(workdir / f"plan-{index}.tfplan")
        proc = tf_root.run(
            "plan", "-no-color", "-input=false", "-lock=false", f"-var-file={var_file}", f"-out={planfile}"
        )
        outputs[tf.tfvars_key(tfvars)] = proc.stdout + proc.stderr
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

    def output(tfvars: dict | None = None) -> str:
        """What `terraform plan` printed for those variables (warnings included)."""
        plan(tfvars)
        return outputs[tf.tfvars_key(dict(tfvars or {}))]

    plan.prefetch = lambda *sets: [submit(tfvars) for tfvars in sets]
    plan.output = output
    yield plan
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def tf_pool():
    """Runs the slow terraform commands side by side (plans, apply, module validations)."""
    pool = ThreadPoolExecutor(max_workers=8)
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def tf_apply_started(tf_root, tf_pool, tmp_path_factory) -> Future:
    """`terraform apply` then `destroy` of the defaults against moto, in a copy of the initialised root (the
    plans keep theirs clean); the future holds both processes and `show -json` after each."""
    workdir = tmp_path_factory.mktemp("tf-apply") / "terraform"
    shutil.copytree(tf_root.workdir, workdir, symlinks=True)
    shutil.copytree(tf_root.workdir.parent / "build", workdir.parent / "build")
    terraform = tf.Terraform(workdir, tf_root.env["TF_CLI_CONFIG_FILE"])
    var_file = tf.write_tfvars(workdir / "test.tfvars.json", tf.VARIABLE_SETS["defaults"])

    def apply() -> dict:
        common = ("-auto-approve", "-no-color", "-input=false", "-parallelism=20", f"-var-file={var_file}")
        proc = terraform.run("apply", *common, check=False)
        state = json.loads(terraform.run("show", "-json").stdout)
        # The tests read the state captured above, so the destroy runs right away, beside the plan tests.
        # No refresh: the state was just written, and reading ~100 resources back is most of the time.
        destroy = terraform.run("destroy", "-refresh=false", *common, check=False)
        after = json.loads(terraform.run("show", "-json").stdout)
        return {"apply": proc, "state": state, "destroy": destroy, "state_after_destroy": after}

    return tf_pool.submit(apply)


@pytest.fixture(scope="session")
def tf_applied(tf_apply_started) -> dict:
    """The applied defaults (see tf_apply_started)."""
    return tf_apply_started.result()


@pytest.fixture(scope="session")
def tf_module_validations(tf_cli_config, tf_pool, tmp_path_factory) -> dict[str, Future]:
    """Each module copied alone, `init` + `validate -json` (module name -> future of the report)."""

    def validate(module: str) -> dict:
        copy = tmp_path_factory.mktemp("module") / module
        shutil.copytree(tf.MODULES_DIR / module, copy)
        for alias in tf.configuration_aliases(copy):
            # A module that is handed an aliased provider gets it from its caller; alone, it needs one here.
            (copy / f"zz_validate_{alias}.tf").write_text(f'provider "aws" {{\n  alias = "{alias}"\n}}\n')
        terraform = tf.Terraform(copy, tf_cli_config)
        terraform.init()
        return json.loads(terraform.run("validate", "-json", "-no-color", check=False).stdout)

    return {module: tf_pool.submit(validate, module) for module in tf.MODULE_NAMES}


@pytest.fixture(scope="session", autouse=True)
def _terraform_work_starts_at_once(request):
    """When terraform is here, every plan, the apply and the module validations start with the first test
    of this folder, side by side; without it nothing starts and only the tests that need it skip."""
    if tf.missing():
        return
    request.getfixturevalue("tf_plan").prefetch(*tf.VARIABLE_SETS.values(), tf.BAD_BUDGET_TFVARS)
    request.getfixturevalue("tf_apply_started")
    request.getfixturevalue("tf_module_validations")
