################################################################################
# Serving brew from the bucket (enable_cdn): CloudFront with origin access control
#
# Only what brew reads is reachable: bottles (*.tar.gz), image indexes (*/manifests/*) and the API files
# (api/*), relative to the mirror prefix (the origin path). Everything else (the state, runs/, locks/,
# journal/) is refused twice: the default behaviour answers 403 itself, and the bucket policy grants
# the distribution nothing outside the served patterns. Origin access control signs every origin request
# with the distribution's own credentials, and no cache policy forwards a header, so an Authorization
# header a client sends (HOMEBREW_DOCKER_REGISTRY_TOKEN) never reaches S3.
################################################################################

data "aws_partition" "current" {}

locals {
  # Keep in step with fake_upstream/cdn.py SERVED_PATTERNS (tests compare them).
  cdn_bottle_pattern   = "*.tar.gz"
  cdn_manifest_pattern = "*/manifests/*"
  cdn_api_pattern      = "api/*"
  cdn_served_patterns  = [local.cdn_bottle_pattern, local.cdn_manifest_pattern, local.cdn_api_pattern]

  # Mirror objects CloudFront must never read, whatever the served patterns match.
  cdn_private_keys = ["bottles_hash*", "runs/*", "locks/*", "journal/*"]

  # Built from the name (not aws_s3_bucket.this.arn) so the bucket policy's CloudFront keys show in a plan.
  cdn_bucket_arn  = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"
  cdn_name        = substr(replace(var.bucket_name, ".", "-"), 0, 48)
  cdn_origin_id   = "mirror-bucket"
  cdn_origin_path = local.key_prefix == "" ? "" : "/${trim(local.key_prefix, "/")}"
  cdn_domain      = var.enable_cdn ? coalesce(var.cdn_domain_name, aws_cloudfront_distribution.this[0].domain_name) : null
  cdn_mirror_url  = var.enable_cdn ? "https://${local.cdn_domain}" : null

  allowed_ipv4 = [for cidr in var.allowed_cidrs : cidr if !strcontains(cidr, ":")]
  allowed_ipv6 = [for cidr in var.allowed_cidrs : cidr if strcontains(cidr, ":")]
  enable_waf   = var.enable_cdn && length(var.allowed_cidrs) > 0
}

# A warning at plan, not an error: settings that do nothing without the distribution.
check "serving_settings_need_enable_cdn" {
  assert {
    condition     = var.enable_cdn || (length(var.allowed_cidrs) == 0 && var.cdn_domain_name == null && var.cdn_certificate_arn == null)
    error_message = "allowed_cidrs, cdn_domain_name and cdn_certificate_arn take effect only with enable_cdn = true."
  }
}

resource "aws_cloudfront_origin_access_control" "this" {
  count = var.enable_cdn ? 1 : 0

  name                              = "${local.cdn_name}-oac"
  description                       = "Signs CloudFront's requests to the mirror bucket ${var.bucket_name}."
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# Bottles are immutable by name (a rebuild gets a new name), so they are cached for as long as allowed.
resource "aws_cloudfront_cache_policy" "bottles" {
  count = var.enable_cdn ? 1 : 0

  name        = "${local.cdn_name}-bottles"
  comment     = "Bottles: immutable by name, cached long; no header, cookie or query string in the key or to S3."
  min_ttl     = 0
  default_ttl = var.cdn_bottle_ttl_seconds
  max_ttl     = var.cdn_bottle_ttl_seconds

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = false
    enable_accept_encoding_brotli = false

    headers_config {
      header_behavior = "none"
    }

    cookies_config {
      cookie_behavior = "none"
    }

    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# Image indexes and API files change with every run that adds bottles: short caching.
resource "aws_cloudfront_cache_policy" "metadata" {
  count = var.enable_cdn ? 1 : 0

  name        = "${local.cdn_name}-metadata"
  comment     = "Image indexes and API files: replaced by runs, cached briefly; no header, cookie or query string to S3."
  min_ttl     = 0
  default_ttl = var.cdn_metadata_ttl_seconds
  max_ttl     = var.cdn_metadata_ttl_seconds

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = true
    enable_accept_encoding_brotli = true

    headers_config {
      header_behavior = "none"
    }

    cookies_config {
      cookie_behavior = "none"
    }

    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

resource "aws_cloudfront_response_headers_policy" "this" {
  count = var.enable_cdn ? 1 : 0

  name    = "${local.cdn_name}-security"
  comment = "Security headers on every response of the mirror."

  security_headers_config {
    content_type_options {
      override = true
    }

    frame_options {
      frame_option = "DENY"
      override     = true
    }

    referrer_policy {
      referrer_policy = "no-referrer"
      override        = true
    }

    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
  }
}

# The default behaviour: anything that is not a served pattern is answered 403 at the edge.
resource "aws_cloudfront_function" "deny" {
  count = var.enable_cdn ? 1 : 0

  name    = "${local.cdn_name}-deny"
  comment = "Refuses every path the mirror does not serve."
  runtime = "cloudfront-js-2.0"
  publish = true
  code = join("\n", [
    "function handler(event) {",
    "  return { statusCode: 403, statusDescription: \"Forbidden\" };",
    "}",
    "",
  ])
}

resource "aws_cloudfront_distribution" "this" {
  #checkov:skip=CKV_AWS_86:Standard logging needs ACLs on the log bucket, which BucketOwnerEnforced disables; every origin fetch is in the mirror bucket's server access logs.
  #checkov:skip=CKV_AWS_310:One origin only: a failover origin would need a replicated bucket, and brew retries a failed download itself.
  #checkov:skip=CKV_AWS_374:Macs and CI runners of a company can be anywhere; restrict with allowed_cidrs (WAF) instead of by country.
  #checkov:skip=CKV_AWS_68:A web ACL is attached when allowed_cidrs is set; without it the mirror serves public, checksum-verified bottles and needs no WAF rules (about $5/month plus requests).
  #checkov:skip=CKV2_AWS_47:The only web ACL is the allow-list of allowed_cidrs; the mirror serves static files, where Log4j request patterns reach nothing.
  #checkov:skip=CKV_AWS_305:No root object: the root path is refused like every other path the mirror does not serve.
  count = var.enable_cdn ? 1 : 0

  enabled         = true
  is_ipv6_enabled = true
  http_version    = "http2and3"
  comment         = "Homebrew mirror ${var.bucket_name}${local.cdn_origin_path}"
  price_class     = var.cdn_price_class
  aliases         = var.cdn_domain_name == null ? [] : [var.cdn_domain_name]
  web_acl_id      = local.enable_waf ? aws_wafv2_web_acl.this[0].arn : null

  origin {
    origin_id                = local.cdn_origin_id
    domain_name              = aws_s3_bucket.this.bucket_regional_domain_name
    origin_path              = local.cdn_origin_path
    origin_access_control_id = aws_cloudfront_origin_access_control.this[0].id
  }

  default_cache_behavior {
    target_origin_id           = local.cdn_origin_id
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = aws_cloudfront_cache_policy.metadata[0].id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this[0].id

    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.deny[0].arn
    }
  }

  ordered_cache_behavior {
    path_pattern               = local.cdn_bottle_pattern
    target_origin_id           = local.cdn_origin_id
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = false
    cache_policy_id            = aws_cloudfront_cache_policy.bottles[0].id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this[0].id
  }

  ordered_cache_behavior {
    path_pattern               = local.cdn_manifest_pattern
    target_origin_id           = local.cdn_origin_id
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.metadata[0].id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this[0].id
  }

  ordered_cache_behavior {
    path_pattern               = local.cdn_api_pattern
    target_origin_id           = local.cdn_origin_id
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.metadata[0].id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this[0].id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.cdn_certificate_arn == null
    acm_certificate_arn            = var.cdn_certificate_arn
    ssl_support_method             = var.cdn_certificate_arn == null ? null : "sni-only"
    minimum_protocol_version       = "TLSv1.2_2021"
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.layout == "flat"
      error_message = "enable_cdn = true needs layout = \"flat\": brew asks for <base>/<bottle file>, and the dated layout keeps bottles under YYYY-MM-DD/ where brew never looks."
    }

    precondition {
      condition     = (var.cdn_domain_name == null) == (var.cdn_certificate_arn == null)
      error_message = "cdn_domain_name and cdn_certificate_arn go together: a custom domain needs an ACM certificate (in us-east-1) that covers it."
    }
  }
}

################################################################################
# IP allow-list (allowed_cidrs): WAF web ACL of scope CLOUDFRONT, which lives in us-east-1
################################################################################

resource "aws_wafv2_ip_set" "ipv4" {
  count    = local.enable_waf && length(local.allowed_ipv4) > 0 ? 1 : 0
  provider = aws.us_east_1

  name               = "${local.cdn_name}-allowed-ipv4"
  description        = "IPv4 ranges allowed to read the mirror."
  scope              = "CLOUDFRONT"
  ip_address_version = "IPV4"
  addresses          = local.allowed_ipv4

  tags = var.tags
}

resource "aws_wafv2_ip_set" "ipv6" {
  count    = local.enable_waf && length(local.allowed_ipv6) > 0 ? 1 : 0
  provider = aws.us_east_1

  name               = "${local.cdn_name}-allowed-ipv6"
  description        = "IPv6 ranges allowed to read the mirror."
  scope              = "CLOUDFRONT"
  ip_address_version = "IPV6"
  addresses          = local.allowed_ipv6

  tags = var.tags
}

resource "aws_wafv2_web_acl" "this" {
  #checkov:skip=CKV_AWS_192:The ACL only allows listed source addresses and blocks the rest; the mirror serves static files, where Log4j request patterns reach nothing.
  #checkov:skip=CKV2_AWS_31:WAF logging needs a log group in us-east-1 named aws-waf-logs-*; blocked requests are counted by the ACL's CloudWatch metrics and sampled requests.
  count    = local.enable_waf ? 1 : 0
  provider = aws.us_east_1

  name        = "${local.cdn_name}-allow-list"
  description = "Only allowed_cidrs may read the mirror."
  scope       = "CLOUDFRONT"

  default_action {
    block {}
  }

  dynamic "rule" {
    for_each = concat(aws_wafv2_ip_set.ipv4[*].arn, aws_wafv2_ip_set.ipv6[*].arn)

    content {
      name     = "allow-listed-${rule.key}"
      priority = rule.key + 1

      action {
        allow {}
      }

      statement {
        ip_set_reference_statement {
          arn = rule.value
        }
      }

      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "${local.cdn_name}-allow-listed-${rule.key}"
        sampled_requests_enabled   = true
      }
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${local.cdn_name}-allow-list"
    sampled_requests_enabled   = true
  }

  tags = var.tags
}
