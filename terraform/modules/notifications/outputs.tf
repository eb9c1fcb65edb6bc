output "kms_key_arn" {
  description = "ARN of the customer managed KMS key (created or given)."
  value       = local.kms_key_arn
}

output "kms_key_alias" {
  description = "Alias of the created KMS key, or null when an existing key is used."
  value       = var.create_kms_key ? aws_kms_alias.this[0].name : null
}

output "secret_arn" {
  description = "ARN of the Secrets Manager secret holding the Slack webhook URL."
  value       = aws_secretsmanager_secret.slack_webhook.arn
}

output "secret_name" {
  description = "Name of the Slack webhook secret."
  value       = aws_secretsmanager_secret.slack_webhook.name
}

output "slack_webhook_configured" {
  description = "Whether Terraform stored a webhook value in the secret."
  value       = length(aws_secretsmanager_secret_version.slack_webhook) > 0
}

output "sns_topic_arn" {
  description = "ARN of the alert topic."
  value       = aws_sns_topic.this.arn
}

output "sns_topic_name" {
  description = "Name of the alert topic."
  value       = aws_sns_topic.this.name
}
