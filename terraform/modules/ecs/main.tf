data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  task_definition_arn_prefix = "arn:${data.aws_partition.current.partition}:ecs:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}:task-definition/${var.task_family}"

  work_dir_environment = var.enable_efs ? { HOMEBREW_SYNC_WORK_DIR = var.efs_mount_path } : {}
  environment          = merge(var.environment, local.work_dir_environment)

  container_definition = {
    name                   = var.container_name
    image                  = "${aws_ecr_repository.this.repository_url}:${var.image_tag}"
    essential              = true
    user                   = "1000:1000"
    readonlyRootFilesystem = false
    stopTimeout            = var.stop_timeout
    linuxParameters        = { initProcessEnabled = true }
    environment            = [for name in sort(keys(local.environment)) : { name = name, value = local.environment[name] }]
    mountPoints            = var.enable_efs ? [{ sourceVolume = "scratch", containerPath = var.efs_mount_path, readOnly = false }] : []
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = data.aws_region.current.id
        awslogs-stream-prefix = "sync"
      }
    }
  }
}

################################################################################
# Cluster and capacity providers
################################################################################

resource "aws_ecs_cluster" "this" {
  name = var.cluster_name

  setting {
    name  = "containerInsights"
    value = var.enable_container_insights ? "enabled" : "disabled"
  }

  configuration {
    execute_command_configuration {
      kms_key_id = var.kms_key_arn
      logging    = "OVERRIDE"

      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.this.name
      }
    }
  }

  tags = var.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = var.default_capacity_provider
    weight            = 1
    base              = 0
  }

  depends_on = [aws_iam_service_linked_role.ecs]
}

# An account that never used ECS has no AWSServiceRoleForECS; capacity providers and RunTask need it.
# Created only when asked: on an account that has it, creating it again fails.
resource "aws_iam_service_linked_role" "ecs" {
  count = var.create_service_linked_role ? 1 : 0

  aws_service_name = "ecs.amazonaws.com"
  description      = "Lets ECS manage Fargate capacity and task networking for ${var.cluster_name}"
}

################################################################################
# Container image repository
################################################################################

resource "aws_ecr_repository" "this" {
  name                 = var.repository_name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_destroy

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name

  policy = jsonencode({
    # A rule's images are never expired by a rule of lower priority: rule 1 shelters the deployed tag
    # (tags are immutable, so it names one image, never more than the count) from rule 3.
    rules = [
      {
        rulePriority = 1
        description  = "Keep the deployed image (${var.image_tag})"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = [var.image_tag]
          countType      = "imageCountMoreThan"
          countNumber    = 1
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Expire untagged images after 7 days"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 7
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Keep the newest ${var.image_retention_count} other tagged images"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = ["*"]
          countType      = "imageCountMoreThan"
          countNumber    = var.image_retention_count
        }
        action = { type = "expire" }
      },
    ]
  })
}

################################################################################
# Logs and task definition
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is 14 days as specified; run history lives in S3 (runs/) and metrics, not in logs.
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_ecs_task_definition" "this" {
  #checkov:skip=CKV_AWS_336:The engine writes downloads in flight to /tmp (100 GiB ephemeral storage) when EFS is off; a writable root keeps that working for uid 1000 without image-specific volume permissions.
  family                   = var.task_family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.task_role_arn
  container_definitions    = jsonencode([local.container_definition])

  ephemeral_storage {
    size_in_gib = var.ephemeral_storage_size_gb
  }

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  dynamic "volume" {
    for_each = var.enable_efs ? [1] : []

    content {
      name = "scratch"

      efs_volume_configuration {
        file_system_id     = aws_efs_file_system.this[0].id
        transit_encryption = "ENABLED"

        authorization_config {
          access_point_id = aws_efs_access_point.this[0].id
          iam             = "ENABLED"
        }
      }
    }
  }

  tags = var.tags
}

################################################################################
# EFS scratch space (optional)
################################################################################

resource "aws_efs_file_system" "this" {
  count = var.enable_efs ? 1 : 0

  creation_token   = var.cluster_name
  encrypted        = true
  kms_key_id       = var.kms_key_arn
  performance_mode = "generalPurpose"
  throughput_mode  = "bursting"

  lifecycle_policy {
    transition_to_ia = var.efs_transition_to_ia
  }

  tags = merge(var.tags, { Name = "${var.cluster_name}-scratch" })
}

resource "aws_efs_access_point" "this" {
  count = var.enable_efs ? 1 : 0

  file_system_id = aws_efs_file_system.this[0].id

  posix_user {
    uid = 1000
    gid = 1000
  }

  root_directory {
    path = var.efs_root_directory

    creation_info {
      owner_uid   = 1000
      owner_gid   = 1000
      permissions = "755"
    }
  }

  tags = merge(var.tags, { Name = "${var.cluster_name}-scratch" })
}

data "aws_iam_policy_document" "efs" {
  count = var.enable_efs ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["*"]
    resources = [aws_efs_file_system.this[0].arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "TaskRoleThroughAccessPoint"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.this[0].arn]

    principals {
      type        = "AWS"
      identifiers = [var.task_role_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.this[0].arn]
    }
  }
}

resource "aws_efs_file_system_policy" "this" {
  count = var.enable_efs ? 1 : 0

  file_system_id = aws_efs_file_system.this[0].id
  policy         = data.aws_iam_policy_document.efs[0].json
}

resource "aws_efs_mount_target" "this" {
  count = var.enable_efs ? length(var.efs_subnet_ids) : 0

  file_system_id  = aws_efs_file_system.this[0].id
  subnet_id       = var.efs_subnet_ids[count.index]
  security_groups = [var.efs_security_group_id]
}

################################################################################
# Failed tasks: an EventBridge rule records every task that stopped abnormally; an alarm counts them
################################################################################

resource "aws_cloudwatch_event_rule" "task_failed" {
  name        = "${var.cluster_name}-ecs-task-failed"
  description = "Sync tasks that stopped other than by success: a non-zero exit (a crash, out of memory), never started (image pull), or lost Spot capacity"

  event_pattern = jsonencode({
    source      = ["aws.ecs"]
    detail-type = ["ECS Task State Change"]
    detail = {
      clusterArn        = [aws_ecs_cluster.this.arn]
      taskDefinitionArn = [{ prefix = "${local.task_definition_arn_prefix}:" }]
      lastStatus        = ["STOPPED"]
      "$or" = [
        { containers = { exitCode = [{ anything-but = 0 }] } },
        { stopCode = ["TaskFailedToStart", "SpotInterruption"] },
      ]
    }
  })

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "task_failed" {
  #checkov:skip=CKV_AWS_338:Failed-task events are a debugging aid; retention follows log_retention_days (14 by default).
  name              = "/aws/events/${var.cluster_name}-ecs-task-failed"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "task_failed_logs" {
  statement {
    sid       = "EventBridgeWritesFailedTasks"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.task_failed.arn}:*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "task_failed" {
  policy_name     = "${var.cluster_name}-ecs-task-failed"
  policy_document = data.aws_iam_policy_document.task_failed_logs.json
}

resource "aws_cloudwatch_event_target" "task_failed" {
  rule      = aws_cloudwatch_event_rule.task_failed.name
  target_id = "failed-task-log"
  arn       = aws_cloudwatch_log_group.task_failed.arn

  depends_on = [aws_cloudwatch_log_resource_policy.task_failed]
}

# The orchestrator turns each such event into a Slack/SNS message naming the reason.
resource "aws_cloudwatch_event_target" "task_stopped_notify" {
  rule      = aws_cloudwatch_event_rule.task_failed.name
  target_id = "orchestrator-notify"
  arn       = var.task_stopped_function_arn
}

resource "aws_cloudwatch_metric_alarm" "task_failed" {
  alarm_name          = "${var.cluster_name}-ecs-task-failed"
  alarm_description   = "A sync task stopped with a non-zero exit code, failed to start or lost its Spot capacity. Details: log group ${aws_cloudwatch_log_group.task_failed.name}."
  namespace           = "AWS/Events"
  metric_name         = "TriggeredRules"
  dimensions          = { RuleName = aws_cloudwatch_event_rule.task_failed.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}

################################################################################
# CPU and memory of the sync tasks (Container Insights, per task family)
################################################################################

resource "aws_cloudwatch_metric_alarm" "task_usage" {
  for_each = var.enable_container_insights ? { cpu = "Cpu", memory = "Memory" } : {}

  alarm_name          = "${var.cluster_name}-ecs-${each.key}-high"
  alarm_description   = "Sync tasks used more than ${var.usage_alarm_threshold_percent}% of their ${each.key} for 15 minutes: raise task_${each.key} or lower concurrency."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.usage_alarm_threshold_percent
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  metric_query {
    id          = "usage"
    expression  = "100 * used / reserved"
    label       = "${each.value} utilization (%)"
    return_data = true
  }

  metric_query {
    id = "used"

    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "${each.value}Utilized"
      dimensions  = { ClusterName = var.cluster_name, TaskDefinitionFamily = var.task_family }
      period      = 300
      stat        = "Maximum"
    }
  }

  metric_query {
    id = "reserved"

    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "${each.value}Reserved"
      dimensions  = { ClusterName = var.cluster_name, TaskDefinitionFamily = var.task_family }
      period      = 300
      stat        = "Maximum"
    }
  }

  tags = var.tags
}
