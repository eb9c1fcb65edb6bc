output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_url" {
  description = "Console URL of the CloudWatch dashboard."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.this.dashboard_name}"
}

output "alarm_arns" {
  description = "ARNs of every alarm on the dashboard."
  value       = local.alarm_arns
}

output "no_successful_sync_alarm_name" {
  description = "Name of the alarm raised when no sync succeeded in the last 7 whole days (null when alarms are disabled)."
  value       = var.enable_cloudwatch_alarms ? aws_cloudwatch_metric_alarm.no_successful_sync[0].alarm_name : null
}

output "query_definition_names" {
  description = "Names of the saved Logs Insights queries."
  value = [
    aws_cloudwatch_query_definition.errors.name,
    aws_cloudwatch_query_definition.runs.name,
    aws_cloudwatch_query_definition.failed_bottles.name,
    aws_cloudwatch_query_definition.lambda_usage.name,
  ]
}
