output "rule_arns" {
  description = "ARNs of the rules that invoke the orchestrator, by key (weekly, manual)."
  value       = { for key, rule in local.rules : key => rule.arn }
}

output "rule_names" {
  description = "Names of the rules that invoke the orchestrator, by key (weekly, manual)."
  value       = { for key, rule in local.rules : key => rule.name }
}

output "dlq_arn" {
  description = "ARN of the EventBridge dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the EventBridge dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "manual_event_source" {
  description = "Source that manual trigger events must carry."
  value       = local.manual_event_source
}

output "manual_event_detail_type" {
  description = "DetailType that manual trigger events must carry."
  value       = local.manual_event_detail_type
}

output "alarm_arns" {
  description = "ARNs of the failed-invocation alarms, by rule key."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.failed_invocations : key => alarm.arn }
}
