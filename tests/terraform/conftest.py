"""Session fixtures for the real-Terraform tests: a moto server, an initialised copy of terraform/, cached plans.

When terraform or the provider mirror is absent the fixtures skip with a message naming what is missing,
and the end of the pytest run repeats it, so a green run without them is never mistaken for a full one.
"""

from __future__ import annotations

import socket
import threading

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
    """tf_plan(tfvars) -> `terraform show -json` of a plan for those variables (cached per variable set)."""
    cache: dict[str, dict] = {}
    lock = threading.Lock()
    workdir = tmp_path_factory.mktemp("tf-plans")

    def plan(tfvars: dict | None = None) -> dict:
        tfvars = dict(tfvars or {})
        key = tf.tfvars_key(tfvars)
        with lock:
            if key not in cache:
                index = len(cache)
                var_file = tf.write_tfvars(workdir / f"plan-{index}.tfvars.json", tfvars)
                planfile = str(workdir / f"plan-{index}.tfplan")
                tf_root.run(
                    "plan", "-no-color", "-input=false", "-lock=false", f"-var-file={var_file}", f"-out={planfile}"
                )
                cache[key] = tf_root.show_json(planfile)
            return cache[key]

    return plan
