"""The real-Terraform harness itself: it says what is missing, stays offline, and plans against moto."""

from __future__ import annotations

from tests.terraform import tf


def test_missing_names_the_binary_and_the_mirror(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("TF_PLUGIN_MIRROR", str(tmp_path / "nowhere"))
    monkeypatch.setattr(tf, "MIRROR_CANDIDATES", ())
    absent = tf.missing()
    assert absent is not None
    assert "terraform binary" in absent
    assert "provider mirror" in absent


def test_plugin_mirror_override_wins(monkeypatch, tmp_path):
    (tmp_path / tf.PROVIDER_DIR / "5.100.0").mkdir(parents=True)
    monkeypatch.setenv("TF_PLUGIN_MIRROR", str(tmp_path))
    assert tf.mirror_root() == tmp_path


def test_cli_config_allows_only_the_mirror(tmp_path):
    text = tf.write_cli_config(tmp_path, tmp_path / "mirror").read_text()
    assert "filesystem_mirror" in text
    assert "direct" not in text
    assert "network_mirror" not in text


def test_plan_of_defaults_against_moto(tf_plan, tf_root):
    plan = tf_plan({})
    assert len(tf.resources(plan)) > 50
    assert tf_plan({}) is plan  # cached per variable set
    lock = (tf_root.workdir / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    version = next(p.name for p in (tf.mirror_root() / tf.PROVIDER_DIR).iterdir())
    assert f'version     = "{version}"' in lock, "the aws provider did not come from the mirror"
