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
