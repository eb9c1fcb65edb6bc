output "bucket_name" {
  description = "Name of the mirror bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the mirror bucket."
  value       = aws_s3_bucket.this.arn
}

output "bucket_regional_domain_name" {
  description = "Regional domain name of the mirror bucket."
  value       = aws_s3_bucket.this.bucket_regional_domain_name
}

output "key_prefix" {
  description = "Normalised key prefix of the mirror (\"\" or ending in \"/\")."
  value       = local.key_prefix
}

output "log_bucket_name" {
  description = "Name of the server access log bucket."
  value       = aws_s3_bucket.logs.id
}

output "log_bucket_arn" {
  description = "ARN of the server access log bucket."
  value       = aws_s3_bucket.logs.arn
}

output "cdn_distribution_id" {
  description = "ID of the CloudFront distribution (for invalidations); null without enable_cdn."
  value       = var.enable_cdn ? aws_cloudfront_distribution.this[0].id : null
}

output "mirror_url" {
  description = "Base URL brew uses for the mirror (https://<domain>); null without enable_cdn."
  value       = local.cdn_mirror_url
}

output "brew_client_env" {
  description = "The export lines that point brew at the mirror (as `homebrew-sync client-env URL` prints them); null without enable_cdn."
  value = var.enable_cdn ? join("\n", [
    "export HOMEBREW_BOTTLE_DOMAIN=${local.cdn_mirror_url}",
    "export HOMEBREW_ARTIFACT_DOMAIN=${local.cdn_mirror_url}",
    "export HOMEBREW_ARTIFACT_DOMAIN_NO_FALLBACK=1",
    "export HOMEBREW_API_DOMAIN=${local.cdn_mirror_url}/api",
  ]) : null
}
