locals {
  orchestrator_function_name = "${var.name_prefix}-orchestrator"
  sync_function_name         = "${var.name_prefix}-worker"
  ecs_log_group_name         = "/aws/ecs/${var.name_prefix}"
  metric_namespace           = "HomebrewSync"
  service_name               = "homebrew-sync"

  external_hash_file_s3_bucket = var.external_hash_file_s3_bucket == null ? "" : var.external_hash_file_s3_bucket
  external_hash_file_s3_key    = var.external_hash_file_s3_key == null ? "" : var.external_hash_file_s3_key
  external_hash_file_url       = var.external_hash_file_url == null ? "" : var.external_hash_file_url

  # Settings every runtime of the engine reads (strings; lists comma-separated; booleans true/false).
  # The Slack webhook URL itself is never an environment variable: only the secret's ARN is.
  engine_environment = {
    HOMEBREW_SYNC_BUCKET                   = module.s3.bucket_name
    HOMEBREW_SYNC_PREFIX                   = trim(var.s3_prefix, "/")
    HOMEBREW_SYNC_ENVIRONMENT              = var.environment
    HOMEBREW_SYNC_PLATFORMS                = join(",", var.platforms)
    HOMEBREW_SYNC_LAYOUT                   = var.layout
    HOMEBREW_SYNC_CONCURRENCY              = tostring(var.concurrency)
    HOMEBREW_SYNC_API_URL                  = var.api_url
    HOMEBREW_SYNC_REGISTRY_URL             = var.registry_url
    HOMEBREW_SYNC_ALLOW_HOSTS              = join(",", var.allow_hosts)
    HOMEBREW_SYNC_ENABLE_NOTIFICATIONS     = tostring(var.enable_notifications)
    HOMEBREW_SYNC_SLACK_WEBHOOK_SECRET_ARN = module.notifications.secret_arn
    HOMEBREW_SYNC_SNS_TOPIC_ARN            = module.notifications.sns_topic_arn
    HOMEBREW_SYNC_REQUIRE_SIGNATURE        = tostring(var.require_signature)
    HOMEBREW_SYNC_ENABLE_TRACING           = tostring(var.enable_tracing)
    HOMEBREW_SYNC_PUBLISH_API              = tostring(var.publish_api)
    HOMEBREW_SYNC_MAX_API_MB               = tostring(var.max_api_mb)
    HOMEBREW_SYNC_PRUNE_AFTER_SYNC         = tostring(var.prune_after_sync)
    HOMEBREW_SYNC_PRUNE_KEEP_VERSIONS      = tostring(var.prune_keep_versions)
    HOMEBREW_SYNC_PRUNE_OLDER_THAN_DAYS    = tostring(var.prune_older_than_days)
    HOMEBREW_SYNC_ECS_LOG_GROUP            = local.ecs_log_group_name
    POWERTOOLS_SERVICE_NAME                = local.service_name
    POWERTOOLS_METRICS_NAMESPACE           = local.metric_namespace
    POWERTOOLS_LOG_LEVEL                   = var.log_level
  }

  orchestrator_environment = merge(local.engine_environment, {
    HOMEBREW_SYNC_SIZE_THRESHOLD_GB            = tostring(var.size_threshold_gb)
    HOMEBREW_SYNC_MAX_SHARDS                   = tostring(var.max_shards)
    HOMEBREW_SYNC_PLAN_BUDGET_S                = tostring(var.plan_budget_s)
    HOMEBREW_SYNC_SYNC_FUNCTION_NAME           = local.sync_function_name
    HOMEBREW_SYNC_ECS_CLUSTER                  = module.ecs.cluster_name
    HOMEBREW_SYNC_ECS_TASK_DEFINITION          = module.ecs.task_definition_family
    HOMEBREW_SYNC_ECS_CONTAINER_NAME           = module.ecs.container_name
    HOMEBREW_SYNC_ECS_SUBNETS                  = join(",", module.network.task_subnet_ids)
    HOMEBREW_SYNC_ECS_SECURITY_GROUPS          = module.network.ecs_security_group_id
    HOMEBREW_SYNC_ECS_ASSIGN_PUBLIC_IP         = tostring(module.network.assign_public_ip)
    HOMEBREW_SYNC_ECS_CAPACITY_PROVIDER        = var.ecs_capacity_provider
    HOMEBREW_SYNC_EXTERNAL_HASH_FILE_S3_BUCKET = local.external_hash_file_s3_bucket
    HOMEBREW_SYNC_EXTERNAL_HASH_FILE_S3_KEY    = local.external_hash_file_s3_key
    HOMEBREW_SYNC_EXTERNAL_HASH_FILE_URL       = local.external_hash_file_url
  })

  # The task also gets HOMEBREW_SYNC_RUN_ID and HOMEBREW_SYNC_SHARD_KEY per run (containerOverrides),
  # and HOMEBREW_SYNC_WORK_DIR from the ecs module when EFS is mounted.
  ecs_environment = merge(local.engine_environment, {
    HOMEBREW_SYNC_PROGRESS_EVERY_PERCENT = tostring(var.progress_every_percent)
    HOMEBREW_SYNC_PROGRESS_EVERY_MINUTES = tostring(var.progress_every_minutes)
  })

  engine_kms_key_arns = var.s3_kms_key_arn == null ? [module.notifications.kms_key_arn] : [module.notifications.kms_key_arn, var.s3_kms_key_arn]
}

module "network" {
  source = "./modules/network"

  name_prefix          = var.name_prefix
  vpc_cidr             = var.vpc_cidr
  availability_zones   = var.availability_zones
  public_subnet_cidrs  = var.public_subnet_cidrs
  private_subnet_cidrs = var.private_subnet_cidrs
  nat_gateway_mode     = var.nat_gateway_mode
  enable_efs           = var.enable_efs
  enable_flow_logs     = var.enable_flow_logs
  log_retention_days   = var.log_retention_days
  kms_key_arn          = module.notifications.kms_key_arn

  tags = var.tags
}

module "s3" {
  source = "./modules/s3"

  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  bucket_name                        = var.s3_bucket_name
  access_log_bucket_name             = var.access_log_bucket_name
  key_prefix                         = var.s3_prefix
  kms_key_arn                        = var.s3_kms_key_arn
  lifecycle_expiration_days          = var.lifecycle_expiration_days
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  force_destroy                      = var.force_destroy
  layout                             = var.layout
  enable_cdn                         = var.enable_cdn
  cdn_domain_name                    = var.cdn_domain_name
  cdn_certificate_arn                = var.cdn_certificate_arn
  allowed_cidrs                      = var.allowed_cidrs
  cdn_price_class                    = var.cdn_price_class

  tags = var.tags
}

module "notifications" {
  source = "./modules/notifications"

  name_prefix                    = var.name_prefix
  slack_webhook_url              = var.slack_webhook_url
  notification_email_addresses   = var.notification_email_addresses
  create_kms_key                 = var.create_kms_key
  kms_key_arn                    = var.kms_key_arn
  secret_recovery_window_in_days = var.secret_recovery_window_days

  tags = var.tags
}

module "iam" {
  source = "./modules/iam"

  name_prefix                  = var.name_prefix
  bucket_arn                   = module.s3.bucket_arn
  key_prefix                   = module.s3.key_prefix
  kms_key_arns                 = local.engine_kms_key_arns
  slack_webhook_secret_arn     = module.notifications.secret_arn
  sns_topic_arn                = module.notifications.sns_topic_arn
  metric_namespace             = local.metric_namespace
  orchestrator_function_name   = local.orchestrator_function_name
  sync_function_name           = local.sync_function_name
  lambda_dlq_arn               = module.lambda.dlq_arn
  enable_tracing               = var.enable_tracing
  ecs_cluster_name             = var.name_prefix
  ecs_task_family              = var.name_prefix
  ecs_log_group_name           = local.ecs_log_group_name
  ecr_repository_name          = var.name_prefix
  enable_efs                   = var.enable_efs
  efs_file_system_arn          = module.ecs.efs_file_system_arn
  efs_access_point_arn         = module.ecs.efs_access_point_arn
  external_hash_file_s3_bucket = local.external_hash_file_s3_bucket
  external_hash_file_s3_key    = local.external_hash_file_s3_key

  tags = var.tags
}

module "lambda" {
  source = "./modules/lambda"

  orchestrator_function_name        = local.orchestrator_function_name
  sync_function_name                = local.sync_function_name
  layer_name                        = "${var.name_prefix}-dependencies"
  dlq_name                          = "${var.name_prefix}-lambda-dlq"
  orchestrator_zip_path             = var.orchestrator_zip_path
  sync_zip_path                     = var.sync_zip_path
  layer_zip_path                    = var.layer_zip_path
  orchestrator_role_arn             = module.iam.orchestrator_role_arn
  sync_role_arn                     = module.iam.sync_role_arn
  orchestrator_memory_size          = var.orchestrator_memory_size
  orchestrator_timeout              = var.orchestrator_timeout
  sync_memory_size                  = var.sync_memory_size
  sync_timeout                      = var.sync_timeout
  sync_reserved_concurrency         = var.sync_reserved_concurrency
  orchestrator_reserved_concurrency = var.orchestrator_reserved_concurrency
  orchestrator_environment          = local.orchestrator_environment
  sync_environment                  = local.engine_environment
  enable_tracing                    = var.enable_tracing
  kms_key_arn                       = module.notifications.kms_key_arn
  log_retention_days                = var.log_retention_days
  eventbridge_rule_arns             = merge(module.eventbridge.rule_arns, { ecs-task-stopped = module.ecs.task_failed_rule_arn })

  tags = var.tags
}

module "ecs" {
  source = "./modules/ecs"

  cluster_name               = var.name_prefix
  task_family                = var.name_prefix
  repository_name            = var.name_prefix
  log_group_name             = local.ecs_log_group_name
  container_name             = var.ecs_container_name
  image_tag                  = var.image_tag
  task_cpu                   = var.task_cpu
  task_memory                = var.task_memory
  ephemeral_storage_size_gb  = var.ephemeral_storage_size_gb
  default_capacity_provider  = var.ecs_capacity_provider
  execution_role_arn         = module.iam.ecs_task_execution_role_arn
  task_role_arn              = module.iam.ecs_task_role_arn
  environment                = local.ecs_environment
  kms_key_arn                = module.notifications.kms_key_arn
  log_retention_days         = var.log_retention_days
  enable_efs                 = var.enable_efs
  efs_subnet_ids             = module.network.private_subnet_ids
  efs_security_group_id      = module.network.efs_security_group_id
  alarm_actions              = [module.notifications.sns_topic_arn]
  task_stopped_function_arn  = module.lambda.orchestrator_function_arn
  create_service_linked_role = var.create_ecs_service_linked_role
  force_destroy              = var.force_destroy

  tags = var.tags
}

module "eventbridge" {
  source = "./modules/eventbridge"

  name_prefix         = var.name_prefix
  schedule_expression = var.schedule_expression
  target_function_arn = module.lambda.orchestrator_function_arn
  alarm_actions       = [module.notifications.sns_topic_arn]

  tags = var.tags
}

module "monitoring" {
  source = "./modules/monitoring"

  name_prefix                = var.name_prefix
  environment                = var.environment
  service_name               = local.service_name
  metric_namespace           = local.metric_namespace
  enable_cloudwatch_alarms   = var.enable_cloudwatch_alarms
  alarm_actions              = [module.notifications.sns_topic_arn]
  orchestrator_function_name = module.lambda.orchestrator_function_name
  sync_function_name         = module.lambda.sync_function_name
  lambda_log_group_names     = [module.lambda.orchestrator_log_group_name, module.lambda.sync_log_group_name]
  ecs_cluster_name           = module.ecs.cluster_name
  ecs_log_group_name         = module.ecs.log_group_name
  ecs_task_failed_rule_name  = module.ecs.task_failed_rule_name
  dlq_names                  = { lambda = module.lambda.dlq_name, eventbridge = module.eventbridge.dlq_name }
  extra_alarm_arns           = concat([module.ecs.task_failed_alarm_arn], module.ecs.usage_alarm_arns, values(module.eventbridge.alarm_arns))

  tags = var.tags
}
