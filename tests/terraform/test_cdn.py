"""Serving brew from AWS (enable_cdn), read from real `terraform plan` output: CloudFront reaches only what
brew reads, signs its own origin requests, never passes a client's Authorization on, caches bottles long
and indexes briefly; allowed_cidrs becomes a WAF allow-list; a dated mirror is refused at plan."""

from __future__ import annotations

import fnmatch
import json
import re

import pytest
from homebrew_sync.serve import client_env_lines

from fakes.cdn import SERVED_PATTERNS
from tests.terraform import tf
from tests.terraform.test_checkov import run_checkov

BUCKET = tf.BASE_TFVARS["s3_bucket_name"]
PREFIX = "mirror/brew"
DOMAIN = "brew.example.com"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-0123456789ab"
CIDRS = ["203.0.113.0/24", "198.51.100.7/32", "2001:db8::/32"]

CDN_WITH_PREFIX = {"enable_cdn": True, "layout": "flat", "s3_prefix": PREFIX}
CDN_WITH_DOMAIN_AND_ALLOW_LIST = {
    "enable_cdn": True,
    "layout": "flat",
    "cdn_domain_name": DOMAIN,
    "cdn_certificate_arn": CERTIFICATE,
    "allowed_cidrs": CIDRS,
}

# Keys relative to the mirror root: what brew reads, and what must stay private.
SERVED_KEYS = [
    "curl-8.0.0.arm64_sonoma.bottle.tar.gz",
    "python@3.12-3.12.7_1.arm64_tahoe.bottle.1.tar.gz",
    "node/22/manifests/22.21.1_4-1",
    "gtkx3/manifests/3.24",
    "api/formula.jws.json",
    "api/internal/packages.arm64_sonoma.jws.json",
]
PRIVATE_KEYS = [
    "bottles_hash.json",
    "bottles_hash.previous.json",
    "runs/r1/run.json",
    "runs/r1/api/formula.jws.json",
    "runs/r1/staged.bottle.tar.gz",
    "locks/sync.lock",
    "journal/r1/0001.json",
    "journal/r1/x/manifests/1.0",
]


@pytest.fixture(scope="module")
def plan_of(tf_plan):
    return tf_plan


def _one(plan: dict, resource_type: str) -> dict:
    found = tf.of_type(plan, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {[r['address'] for r in found]}"
    return found[0]["values"]


def _change(plan: dict, address: str) -> dict:
    return next(rc["change"] for rc in plan["resource_changes"] if rc["address"] == address)


def _s3_config(plan: dict) -> dict:
    return plan["configuration"]["root_module"]["module_calls"]["s3"]["module"]


def _config_resource(plan: dict, address: str) -> dict:
    return next(r for r in _s3_config(plan)["resources"] if r["address"] == address)


def _arn_pattern(arn: str) -> re.Pattern[str]:
    """An IAM resource ARN with wildcards as a regex (`*` crosses `/`, `?` is one character)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in arn))


def _policy_statements(plan: dict) -> list[dict]:
    return _change(plan, "module.s3.data.aws_iam_policy_document.this")["after"]["statement"]


def _cloudfront_may_read(statements: list[dict], arn: str) -> bool:
    """IAM evaluation for the CloudFront service principal: an explicit deny wins, else an allow is needed."""
    allowed = False
    for statement in statements:
        principals = {i for p in statement["principals"] for i in p["identifiers"]}
        if "cloudfront.amazonaws.com" not in principals and "*" not in principals:
            continue
        if not {"s3:GetObject", "s3:*"} & set(statement["actions"]):
            continue
        if not any(_arn_pattern(r).fullmatch(arn) for r in statement["resources"] if r):
            continue
        if statement["effect"] == "Deny":
            return False
        allowed = True
    return allowed


def _fake_cdn_serves(key: str) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in SERVED_PATTERNS)


# --- without Terraform ----------------------------------------------------------------------------------


def test_fake_cdn_patterns_tell_served_from_private_keys():
    assert all(_fake_cdn_serves(key) for key in SERVED_KEYS)
    # The patterns alone would let a staged bottle under runs/ through: the bucket policy's deny stops it.
    assert [key for key in PRIVATE_KEYS if _fake_cdn_serves(key)] == [
        "runs/r1/staged.bottle.tar.gz",
        "journal/r1/x/manifests/1.0",
    ]


# --- terraform plan -------------------------------------------------------------------------------------


def test_cloudfront_serves_exactly_the_fake_cdns_patterns(plan_of):
    distribution = _one(plan_of(CDN_WITH_PREFIX), "aws_cloudfront_distribution")
    assert [b["path_pattern"] for b in distribution["ordered_cache_behavior"]] == list(SERVED_PATTERNS)


def test_serving_is_off_by_default(plan_of):
    plan = plan_of({})
    assert not [r["address"] for r in tf.resources(plan) if r["type"].startswith(("aws_cloudfront", "aws_wafv2"))]
    outputs = plan["planned_values"]["outputs"]
    assert outputs["mirror_url"].get("value") is None
    assert outputs["brew_client_env"].get("value") is None
    sids = [s["sid"] for s in _policy_statements(plan)]
    assert sids == ["DenyInsecureTransport", "DenyOutdatedTls"]
    status = {c["address"]["to_display"]: c["status"] for c in plan.get("checks", [])}
    assert status["module.s3.check.serving_settings_need_enable_cdn"] == "pass"


def test_distribution_serves_only_the_served_patterns(plan_of):
    plan = plan_of(CDN_WITH_PREFIX)
    distribution = _one(plan, "aws_cloudfront_distribution")
    assert [b["path_pattern"] for b in distribution["ordered_cache_behavior"]] == list(SERVED_PATTERNS)
    (origin,) = distribution["origin"]
    assert origin["origin_path"] == f"/{PREFIX}"
    assert origin["s3_origin_config"] == [] and origin["custom_origin_config"] == []
    behaviours = [*distribution["ordered_cache_behavior"], *distribution["default_cache_behavior"]]
    for behaviour in behaviours:
        assert behaviour["viewer_protocol_policy"] == "https-only"
        assert sorted(behaviour["allowed_methods"]) == ["GET", "HEAD"]
    (default,) = distribution["default_cache_behavior"]
    assert [f["event_type"] for f in default["function_association"]] == ["viewer-request"]
    deny = _one(plan, "aws_cloudfront_function")
    assert deny["runtime"] == "cloudfront-js-2.0" and deny["publish"] is True
    assert re.search(r"return\s*\{\s*statusCode:\s*403\b", deny["code"]), deny["code"]
    refs = _config_resource(plan, "aws_cloudfront_distribution.this")["expressions"]["default_cache_behavior"][0]
    assert "aws_cloudfront_function.deny[0].arn" in refs["function_association"][0]["function_arn"]["references"]


def test_origin_access_control_signs_every_origin_request(plan_of):
    plan = plan_of(CDN_WITH_PREFIX)
    oac = _one(plan, "aws_cloudfront_origin_access_control")
    assert oac["origin_access_control_origin_type"] == "s3"
    assert oac["signing_behavior"] == "always"
    assert oac["signing_protocol"] == "sigv4"
    origin = _config_resource(plan, "aws_cloudfront_distribution.this")["expressions"]["origin"][0]
    assert "aws_cloudfront_origin_access_control.this[0].id" in origin["origin_access_control_id"]["references"]
    assert "aws_s3_bucket.this.bucket_regional_domain_name" in origin["domain_name"]["references"]


def test_no_client_header_reaches_s3(plan_of):
    plan = plan_of(CDN_WITH_PREFIX)
    assert not tf.of_type(plan, "aws_cloudfront_origin_request_policy")
    distribution = _one(plan, "aws_cloudfront_distribution")
    for behaviour in [*distribution["ordered_cache_behavior"], *distribution["default_cache_behavior"]]:
        assert behaviour["forwarded_values"] == [], "legacy forwarded_values would pass headers on"
        assert behaviour["origin_request_policy_id"] is None
    policies = tf.of_type(plan, "aws_cloudfront_cache_policy")
    assert len(policies) == 2
    for policy in policies:
        (params,) = policy["values"]["parameters_in_cache_key_and_forwarded_to_origin"]
        assert params["headers_config"] == [{"header_behavior": "none", "headers": []}], policy["address"]
        assert params["cookies_config"][0]["cookie_behavior"] == "none"
        assert params["query_strings_config"][0]["query_string_behavior"] == "none"
        assert "authorization" not in str(policy["values"]).lower()


def test_bottles_cache_long_indexes_and_api_briefly(plan_of):
    plan = plan_of(CDN_WITH_PREFIX)
    ttl = {
        p["name"]: (p["values"]["min_ttl"], p["values"]["default_ttl"], p["values"]["max_ttl"])
        for p in tf.of_type(plan, "aws_cloudfront_cache_policy")
    }
    assert ttl == {"bottles": (0, 31_536_000, 31_536_000), "metadata": (0, 300, 300)}
    config = _config_resource(plan, "aws_cloudfront_distribution.this")["expressions"]
    planned = _one(plan, "aws_cloudfront_distribution")["ordered_cache_behavior"]
    policy_of = {
        behaviour["path_pattern"]: next(
            name for name in ttl if f"aws_cloudfront_cache_policy.{name}[0].id" in ref["cache_policy_id"]["references"]
        )
        for behaviour, ref in zip(planned, config["ordered_cache_behavior"], strict=True)
    }
    assert policy_of == {"*.tar.gz": "bottles", "*/manifests/*": "metadata", "api/*": "metadata"}
    assert {b["path_pattern"]: b["compress"] for b in planned} == {
        "*.tar.gz": False,
        "*/manifests/*": True,
        "api/*": True,
    }


def test_bucket_policy_lets_cloudfront_read_served_keys_only(plan_of):
    plan = plan_of(CDN_WITH_PREFIX)
    statements = _policy_statements(plan)
    by_sid = {s["sid"]: s for s in statements}
    read = by_sid["CloudFrontReadsServedObjects"]
    assert read["actions"] == ["s3:GetObject"]
    assert read["resources"] == [f"arn:aws:s3:::{BUCKET}/{PREFIX}/{p}" for p in SERVED_PATTERNS]
    after_unknown = _change(plan, "module.s3.data.aws_iam_policy_document.this")["after_unknown"]["statement"]
    for statement, unknown in zip(statements, after_unknown, strict=True):
        if "cloudfront.amazonaws.com" in str(statement["principals"]):
            (condition,) = statement["condition"]
            assert (condition["test"], condition["variable"]) == ("StringEquals", "AWS:SourceArn")
            assert unknown["condition"][0]["values"] == [True], "the distribution's ARN, known after apply"
    for key in SERVED_KEYS:
        assert _cloudfront_may_read(statements, f"arn:aws:s3:::{BUCKET}/{PREFIX}/{key}"), key
    for key in PRIVATE_KEYS:
        assert not _cloudfront_may_read(statements, f"arn:aws:s3:::{BUCKET}/{PREFIX}/{key}"), key
    # Outside the prefix nothing is served, not even a bottle.
    assert not _cloudfront_may_read(statements, f"arn:aws:s3:::{BUCKET}/other/curl-8.0.0.arm64_sonoma.bottle.tar.gz")


def test_custom_domain_outputs_the_mirror_url_and_the_export_lines(plan_of):
    plan = plan_of(CDN_WITH_DOMAIN_AND_ALLOW_LIST)
    distribution = _one(plan, "aws_cloudfront_distribution")
    assert distribution["aliases"] == [DOMAIN]
    (certificate,) = distribution["viewer_certificate"]
    assert certificate["acm_certificate_arn"] == CERTIFICATE
    assert certificate["ssl_support_method"] == "sni-only"
    assert certificate["minimum_protocol_version"] == "TLSv1.2_2021"
    assert distribution["origin"][0]["origin_path"] == ""
    outputs = plan["planned_values"]["outputs"]
    assert outputs["mirror_url"]["value"] == f"https://{DOMAIN}"
    assert outputs["brew_client_env"]["value"] == "\n".join(client_env_lines(f"https://{DOMAIN}"))


def test_distribution_name_is_known_after_apply(plan_of):
    plan = plan_of(CDN_WITH_PREFIX)
    assert plan["output_changes"]["mirror_url"]["after_unknown"] is True
    assert plan["output_changes"]["brew_client_env"]["after_unknown"] is True
    (certificate,) = _one(plan, "aws_cloudfront_distribution")["viewer_certificate"]
    assert certificate["cloudfront_default_certificate"] is True


def test_allowed_cidrs_become_a_cloudfront_waf_allow_list(plan_of):
    plan = plan_of(CDN_WITH_DOMAIN_AND_ALLOW_LIST)
    sets = {r["values"]["ip_address_version"]: r["values"] for r in tf.of_type(plan, "aws_wafv2_ip_set")}
    assert set(sets) == {"IPV4", "IPV6"}
    assert sorted(sets["IPV4"]["addresses"]) == ["198.51.100.7/32", "203.0.113.0/24"]
    assert sets["IPV6"]["addresses"] == ["2001:db8::/32"]
    acl = _one(plan, "aws_wafv2_web_acl")
    assert acl["scope"] == "CLOUDFRONT" and all(s["scope"] == "CLOUDFRONT" for s in sets.values())
    assert acl["default_action"] == [{"allow": [], "block": [{"custom_response": []}]}]
    assert [list(r["action"][0]["allow"]) for r in acl["rule"]] == [[{"custom_request_handling": []}]] * 2
    # CloudFront reads web ACLs from us-east-1 only: every WAF resource uses the aliased provider.
    for address in ("aws_wafv2_web_acl.this", "aws_wafv2_ip_set.ipv4", "aws_wafv2_ip_set.ipv6"):
        assert _config_resource(plan, address)["provider_config_key"].endswith("aws.us_east_1"), address
    web_acl_id = _change(plan, "module.s3.aws_cloudfront_distribution.this[0]")["after_unknown"]["web_acl_id"]
    assert web_acl_id is True, "the distribution is attached to the web ACL"


def test_without_allowed_cidrs_there_is_no_waf(plan_of):
    plan = plan_of(CDN_WITH_PREFIX)
    assert not tf.of_type(plan, "aws_wafv2_web_acl") and not tf.of_type(plan, "aws_wafv2_ip_set")
    assert _one(plan, "aws_cloudfront_distribution")["web_acl_id"] is None


def _plan_error(plan_of, tfvars: dict) -> str:
    with pytest.raises(tf.TerraformError) as failure:
        plan_of(tfvars)
    return " ".join(f"{failure.value.proc.stdout} {failure.value.proc.stderr}".split())


def test_serving_a_dated_mirror_fails_at_plan(plan_of):
    message = _plan_error(plan_of, {"enable_cdn": True, "layout": "dated"})
    assert "Resource precondition failed" in message
    assert 'enable_cdn = true needs layout = "flat"' in message


def test_a_custom_domain_needs_its_certificate(plan_of):
    message = _plan_error(plan_of, {"enable_cdn": True, "layout": "flat", "cdn_domain_name": DOMAIN})
    assert "cdn_domain_name and cdn_certificate_arn go together" in message


def test_a_certificate_outside_us_east_1_is_refused(plan_of):
    wrong = CERTIFICATE.replace("us-east-1", "eu-west-1")
    tfvars = {**CDN_WITH_DOMAIN_AND_ALLOW_LIST, "cdn_certificate_arn": wrong}
    assert "must be an ACM certificate ARN in us-east-1" in _plan_error(plan_of, tfvars)


# --- checkov with serving on ----------------------------------------------------------------------------


@pytest.mark.parametrize("tfvars", [CDN_WITH_PREFIX, CDN_WITH_DOMAIN_AND_ALLOW_LIST], ids=["cdn", "domain-allow-list"])
def test_checkov_passes_with_serving_on(tfvars, tmp_path):
    # The default scan sees count = 0 for every CloudFront and WAF resource and checks none of them.
    var_file = tmp_path / "cdn.tfvars"
    var_file.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in {**tf.BASE_TFVARS, **tfvars}.items()))
    data = run_checkov("--var-file", str(var_file))
    checked = {c["resource"] for c in data["results"]["passed_checks"]}
    assert "module.s3.aws_cloudfront_distribution.this[0]" in checked, "the distribution was not scanned"
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in data["results"]["failed_checks"]]
    assert not failed, "checkov failed checks with serving on:\n" + "\n".join(failed)


def test_serving_settings_without_enable_cdn_warn(plan_of):
    plan = plan_of({"allowed_cidrs": CIDRS})
    assert not tf.of_type(plan, "aws_wafv2_web_acl")
    status = {c["address"]["to_display"]: c["status"] for c in plan.get("checks", [])}
    assert status["module.s3.check.serving_settings_need_enable_cdn"] == "fail"
    assert status.get("module.s3.aws_cloudfront_distribution.this") != "fail"
