output "s3_bucket_name" {
  description = "Mirror bucket."
  value       = module.s3.bucket_name
}

output "s3_bucket_arn" {
  description = "ARN of the mirror bucket."
  value       = module.s3.bucket_arn
}

output "access_log_bucket_name" {
  description = "Server access log bucket."
  value       = module.s3.log_bucket_name
}

output "orchestrator_function_name" {
  description = "Orchestrator Lambda function (aws lambda invoke --function-name ...)."
  value       = module.lambda.orchestrator_function_name
}

output "sync_function_name" {
  description = "Sync worker Lambda function."
  value       = module.lambda.sync_function_name
}

output "ecs_cluster_name" {
  description = "ECS cluster of the sync tasks."
  value       = module.ecs.cluster_name
}

output "ecs_task_definition_family" {
  description = "Task definition family of the sync task."
  value       = module.ecs.task_definition_family
}

output "ecs_log_group_name" {
  description = "Log group of the sync tasks."
  value       = module.ecs.log_group_name
}

output "ecr_repository_url" {
  description = "Repository scripts/build_image.sh pushes the sync image to."
  value       = module.ecs.ecr_repository_url
}

output "image" {
  description = "Image the task definition runs; push it before the first ECS run."
  value       = module.ecs.image
}

output "image_tag" {
  description = "Tag of the sync image the task definition expects."
  value       = var.image_tag
}

output "task_subnet_ids" {
  description = "Subnets the sync tasks run in."
  value       = module.network.task_subnet_ids
}

output "vpc_id" {
  description = "VPC of the sync tasks."
  value       = module.network.vpc_id
}

output "sns_topic_arn" {
  description = "Alert topic (subscribe more endpoints here)."
  value       = module.notifications.sns_topic_arn
}

output "slack_webhook_secret_name" {
  description = "Secret holding the Slack webhook URL (aws secretsmanager put-secret-value --secret-id ...)."
  value       = module.notifications.secret_name
}

output "kms_key_arn" {
  description = "Customer managed KMS key of the topic, the secret, log groups and the image repository."
  value       = module.notifications.kms_key_arn
}

output "eventbridge_rule_names" {
  description = "Weekly and manual EventBridge rules."
  value       = module.eventbridge.rule_names
}

output "dashboard_url" {
  description = "CloudWatch dashboard."
  value       = module.monitoring.dashboard_url
}

output "manual_trigger_commands" {
  description = "Two ways to start a sync now."
  value = {
    eventbridge = "aws events put-events --entries file://manual-trigger.json"
    lambda      = "aws lambda invoke --function-name ${module.lambda.orchestrator_function_name} --invocation-type Event --cli-binary-format raw-in-base64-out --payload '{\"source\": \"manual\"}' response.json"
  }
}

output "runtime_setting_names" {
  description = "Names of the engine settings each runtime receives in its environment (orchestrator, sync worker, ECS task)."
  value = {
    orchestrator = sort(keys(local.orchestrator_environment))
    sync         = sort(keys(local.engine_environment))
    ecs          = module.ecs.environment_names
  }
}

output "mirror_url" {
  description = "Base URL of the mirror for brew (enable_cdn); null without it."
  value       = module.s3.mirror_url
}

output "brew_client_env" {
  description = "The export lines for every Mac or CI runner (terraform output -raw brew_client_env); null without enable_cdn."
  value       = module.s3.brew_client_env
}

output "cdn_distribution_id" {
  description = "CloudFront distribution of the mirror (aws cloudfront create-invalidation --distribution-id ...)."
  value       = module.s3.cdn_distribution_id
}
