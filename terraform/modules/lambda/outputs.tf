output "orchestrator_function_name" {
  description = "Name of the orchestrator function."
  value       = aws_lambda_function.orchestrator.function_name
}

output "orchestrator_function_arn" {
  description = "ARN of the orchestrator function."
  value       = aws_lambda_function.orchestrator.arn
}

output "sync_function_name" {
  description = "Name of the sync worker function."
  value       = aws_lambda_function.sync.function_name
}

output "sync_function_arn" {
  description = "ARN of the sync worker function."
  value       = aws_lambda_function.sync.arn
}

output "layer_version_arn" {
  description = "ARN of the dependencies layer version."
  value       = aws_lambda_layer_version.dependencies.arn
}

output "orchestrator_log_group_name" {
  description = "Log group of the orchestrator."
  value       = aws_cloudwatch_log_group.orchestrator.name
}

output "sync_log_group_name" {
  description = "Log group of the sync worker."
  value       = aws_cloudwatch_log_group.sync.name
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue for failed asynchronous invocations."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue for failed asynchronous invocations."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue for failed asynchronous invocations."
  value       = aws_sqs_queue.dlq.url
}
