data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id

  # ARNs are built from names so that no role depends on the resource it grants access to.
  log_group_arn_prefix  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group"
  orchestrator_log_arn  = "${local.log_group_arn_prefix}:/aws/lambda/${var.orchestrator_function_name}:*"
  sync_log_arn          = "${local.log_group_arn_prefix}:/aws/lambda/${var.sync_function_name}:*"
  ecs_log_arn           = "${local.log_group_arn_prefix}:${var.ecs_log_group_name}:*"
  sync_function_arn     = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.sync_function_name}"
  ecs_cluster_arn       = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:cluster/${var.ecs_cluster_name}"
  ecs_task_family_arn   = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${var.ecs_task_family}:*"
  ecs_tasks_arn         = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${var.ecs_cluster_name}/*"
  ecr_repository_arn    = "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/${var.ecr_repository_name}"
  objects               = "${var.bucket_arn}/${var.key_prefix}"
  external_hash_enabled = var.external_hash_file_s3_bucket != "" && var.external_hash_file_s3_key != ""
}

################################################################################
# Trust policies
################################################################################

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

################################################################################
# Shared by every runtime of the engine: the mirror bucket, the secret, the topic, metrics
################################################################################

data "aws_iam_policy_document" "engine" {
  statement {
    sid       = "ListMirrorBucket"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]
  }

  # Every key the engine writes: the state, bottles (dated/ or flat), image indexes
  # (<image>/manifests/<tag>), brew's API files (api/), per-run documents and staged copies (runs/),
  # journal entries (journal/) and the run lock (locks/).
  statement {
    sid     = "ReadWriteMirrorObjects"
    actions = ["s3:GetObject", "s3:PutObject"]
    resources = [
      "${local.objects}bottles_hash.json",
      "${local.objects}bottles_hash.previous.json",
      "${local.objects}bottles_hash.corrupt.json",
      "${local.objects}locks/*",
      "${local.objects}runs/*",
      "${local.objects}journal/*",
      "${local.objects}api/*",
      "${local.objects}*/manifests/*",
      "${local.objects}*.tar.gz",
    ]
  }

  # Locks and run documents end, journal entries are folded into the state, staged API copies are
  # dropped once published, and pruning removes old bottles with their image indexes.
  statement {
    sid     = "DeleteEngineObjects"
    actions = ["s3:DeleteObject"]
    resources = [
      "${local.objects}locks/*",
      "${local.objects}runs/*",
      "${local.objects}journal/*",
      "${local.objects}*/manifests/*",
      "${local.objects}*.tar.gz",
    ]
  }

  # Bottles and API files above the part size are uploaded (and copied into api/) in parts.
  statement {
    sid     = "MultipartUploads"
    actions = ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = [
      "${local.objects}*.tar.gz",
      "${local.objects}runs/*",
      "${local.objects}api/*",
    ]
  }

  statement {
    sid       = "UseEncryptionKeys"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = var.kms_key_arns
  }

  statement {
    sid       = "ReadSlackWebhook"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.slack_webhook_secret_arn]
  }

  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [var.sns_topic_arn]
  }

  statement {
    sid       = "PutSyncMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metric_namespace]
    }
  }
}

data "aws_iam_policy_document" "lambda_common" {
  statement {
    sid       = "SendFailedInvocationsToDlq"
    actions   = ["sqs:SendMessage"]
    resources = [var.lambda_dlq_arn]
  }

  dynamic "statement" {
    for_each = var.enable_tracing ? [1] : []

    content {
      sid       = "WriteTraces"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

################################################################################
# Orchestrator Lambda
################################################################################

data "aws_iam_policy_document" "orchestrator" {
  source_policy_documents = [
    data.aws_iam_policy_document.engine.json,
    data.aws_iam_policy_document.lambda_common.json,
  ]

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.orchestrator_log_arn]
  }

  statement {
    sid       = "InvokeSyncWorker"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.sync_function_arn, "${local.sync_function_arn}:*"]
  }

  statement {
    sid       = "RunSyncTask"
    actions   = ["ecs:RunTask"]
    resources = [local.ecs_task_family_arn]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.ecs_cluster_arn]
    }
  }

  statement {
    sid       = "TrackSyncTasks"
    actions   = ["ecs:DescribeTasks"]
    resources = [local.ecs_tasks_arn]
  }

  statement {
    sid       = "TagTasksAtLaunch"
    actions   = ["ecs:TagResource"]
    resources = [local.ecs_tasks_arn]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.ecs_task.arn, aws_iam_role.ecs_execution.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = local.external_hash_enabled ? [1] : []

    content {
      sid       = "ReadExternalHashFile"
      actions   = ["s3:GetObject"]
      resources = ["arn:${local.partition}:s3:::${var.external_hash_file_s3_bucket}/${var.external_hash_file_s3_key}"]
    }
  }
}

resource "aws_iam_role" "orchestrator" {
  name               = "${var.name_prefix}-orchestrator"
  description        = "Orchestrator Lambda: plans a run and starts the sync worker or an ECS task"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "orchestrator" {
  name   = "orchestrator"
  role   = aws_iam_role.orchestrator.id
  policy = data.aws_iam_policy_document.orchestrator.json

  lifecycle {
    precondition {
      condition     = (var.external_hash_file_s3_bucket == "") == (var.external_hash_file_s3_key == "")
      error_message = "Set both external_hash_file_s3_bucket and external_hash_file_s3_key, or neither."
    }
  }
}

################################################################################
# Sync worker Lambda
################################################################################

data "aws_iam_policy_document" "sync" {
  source_policy_documents = [
    data.aws_iam_policy_document.engine.json,
    data.aws_iam_policy_document.lambda_common.json,
  ]

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.sync_log_arn]
  }

  statement {
    sid       = "InvokeOwnContinuation"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.sync_function_arn, "${local.sync_function_arn}:*"]
  }
}

resource "aws_iam_role" "sync" {
  name               = "${var.name_prefix}-worker"
  description        = "Sync worker Lambda: downloads, verifies and stores bottles"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "sync" {
  name   = "sync-worker"
  role   = aws_iam_role.sync.id
  policy = data.aws_iam_policy_document.sync.json
}

################################################################################
# ECS task execution role (image pull, log delivery)
################################################################################

data "aws_iam_policy_document" "ecs_execution" {
  statement {
    sid       = "EcrAuthorizationToken"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullSyncImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [local.ecr_repository_arn]
  }

  statement {
    sid       = "WriteTaskLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.ecs_log_arn]
  }
}

resource "aws_iam_role" "ecs_execution" {
  name               = "${var.name_prefix}-ecs-execution"
  description        = "ECS task execution: pulls the sync image and ships container logs"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "ecs_execution" {
  name   = "ecs-execution"
  role   = aws_iam_role.ecs_execution.id
  policy = data.aws_iam_policy_document.ecs_execution.json
}

################################################################################
# ECS task role (what the sync container itself may do)
################################################################################

data "aws_iam_policy_document" "ecs_task" {
  source_policy_documents = [data.aws_iam_policy_document.engine.json]

  dynamic "statement" {
    for_each = var.enable_efs ? [1] : []

    content {
      sid       = "MountScratchFileSystem"
      actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
      resources = [var.efs_file_system_arn]

      condition {
        test     = "StringEquals"
        variable = "elasticfilesystem:AccessPointArn"
        values   = [var.efs_access_point_arn]
      }
    }
  }
}

resource "aws_iam_role" "ecs_task" {
  name               = "${var.name_prefix}-ecs-task"
  description        = "ECS sync task: the same engine as the sync worker Lambda"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "ecs_task" {
  name   = "ecs-task"
  role   = aws_iam_role.ecs_task.id
  policy = data.aws_iam_policy_document.ecs_task.json
}
