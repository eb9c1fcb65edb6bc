output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "task_definition_family" {
  description = "Family of the sync task definition."
  value       = aws_ecs_task_definition.this.family
}

output "task_definition_arn" {
  description = "ARN of the latest sync task definition revision."
  value       = aws_ecs_task_definition.this.arn
}

output "container_name" {
  description = "Name of the sync container."
  value       = var.container_name
}

output "image" {
  description = "Image the task definition runs."
  value       = local.container_definition.image
}

output "ecr_repository_name" {
  description = "Name of the ECR repository."
  value       = aws_ecr_repository.this.name
}

output "ecr_repository_url" {
  description = "URL of the ECR repository (scripts/build_image.sh pushes here)."
  value       = aws_ecr_repository.this.repository_url
}

output "log_group_name" {
  description = "Log group of the sync container."
  value       = aws_cloudwatch_log_group.this.name
}

output "efs_file_system_arn" {
  description = "ARN of the EFS file system (null when EFS is disabled)."
  value       = var.enable_efs ? aws_efs_file_system.this[0].arn : null
}

output "efs_access_point_arn" {
  description = "ARN of the EFS access point (null when EFS is disabled)."
  value       = var.enable_efs ? aws_efs_access_point.this[0].arn : null
}

output "task_failed_rule_name" {
  description = "EventBridge rule matching failed sync tasks."
  value       = aws_cloudwatch_event_rule.task_failed.name
}

output "task_failed_alarm_arn" {
  description = "ARN of the failed-task alarm."
  value       = aws_cloudwatch_metric_alarm.task_failed.arn
}

output "task_failed_log_group_name" {
  description = "Log group receiving the events of failed tasks."
  value       = aws_cloudwatch_log_group.task_failed.name
}

output "task_failed_rule_arn" {
  description = "ARN of the EventBridge rule matching sync tasks that stopped other than by success."
  value       = aws_cloudwatch_event_rule.task_failed.arn
}

output "usage_alarm_arns" {
  description = "ARNs of the CPU and memory alarms of the sync tasks (empty without Container Insights)."
  value       = [for alarm in aws_cloudwatch_metric_alarm.task_usage : alarm.arn]
}

output "environment_names" {
  description = "Names of the settings the sync task receives in its environment (values may be secrets' ARNs, never secrets)."
  value       = [for variable in local.container_definition.environment : variable.name] # read from the container itself
}
