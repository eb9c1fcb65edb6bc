# Role ARNs are published only once their policies exist: Lambda checks at creation time that the role
# may send to its dead-letter queue.

output "orchestrator_role_arn" {
  description = "ARN of the orchestrator Lambda role."
  value       = aws_iam_role.orchestrator.arn
  depends_on  = [aws_iam_role_policy.orchestrator]
}

output "orchestrator_role_name" {
  description = "Name of the orchestrator Lambda role."
  value       = aws_iam_role.orchestrator.name
}

output "sync_role_arn" {
  description = "ARN of the sync worker Lambda role."
  value       = aws_iam_role.sync.arn
  depends_on  = [aws_iam_role_policy.sync]
}

output "sync_role_name" {
  description = "Name of the sync worker Lambda role."
  value       = aws_iam_role.sync.name
}

output "ecs_task_execution_role_arn" {
  description = "ARN of the ECS task execution role."
  value       = aws_iam_role.ecs_execution.arn
  depends_on  = [aws_iam_role_policy.ecs_execution]
}

output "ecs_task_role_arn" {
  description = "ARN of the ECS task role."
  value       = aws_iam_role.ecs_task.arn
  depends_on  = [aws_iam_role_policy.ecs_task]
}
