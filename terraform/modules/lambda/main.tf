locals {
  handler = "handler.lambda_handler"
}

################################################################################
# Dependencies layer (built by scripts/build_lambda.sh for the Lambda platform)
################################################################################

resource "aws_lambda_layer_version" "dependencies" {
  layer_name               = var.layer_name
  description              = "Python dependencies of the sync engine (requirements.txt)"
  filename                 = var.layer_zip_path
  source_code_hash         = filebase64sha256(var.layer_zip_path)
  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]
}

################################################################################
# Dead-letter queue for failed asynchronous invocations
################################################################################

resource "aws_sqs_queue" "dlq" {
  name                      = var.dlq_name
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true

  tags = var.tags
}

################################################################################
# Log groups (created before the functions so Lambda never creates them without retention)
################################################################################

resource "aws_cloudwatch_log_group" "orchestrator" {
  #checkov:skip=CKV_AWS_338:Retention is 14 days as specified; run history lives in S3 (runs/) and metrics, not in logs.
  name              = "/aws/lambda/${var.orchestrator_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "sync" {
  #checkov:skip=CKV_AWS_338:Retention is 14 days as specified; run history lives in S3 (runs/) and metrics, not in logs.
  name              = "/aws/lambda/${var.sync_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

################################################################################
# Orchestrator: one run at a time, never retried by Lambda (the run lock and the schedule decide)
################################################################################

resource "aws_lambda_function" "orchestrator" {
  #checkov:skip=CKV_AWS_117:Runs outside a VPC on purpose: it calls the Homebrew API and AWS APIs over the internet, and a VPC would need a NAT gateway.
  #checkov:skip=CKV_AWS_272:The zip is built by scripts/build_lambda.sh from the reviewed repository; no AWS Signer profile is part of this deployment.
  function_name                  = var.orchestrator_function_name
  description                    = "Plans a Homebrew bottles sync and routes it to the sync worker or ECS"
  role                           = var.orchestrator_role_arn
  handler                        = local.handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  filename                       = var.orchestrator_zip_path
  source_code_hash               = filebase64sha256(var.orchestrator_zip_path)
  layers                         = [aws_lambda_layer_version.dependencies.arn]
  memory_size                    = var.orchestrator_memory_size
  timeout                        = var.orchestrator_timeout
  reserved_concurrent_executions = var.orchestrator_reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = var.orchestrator_environment
  }

  tracing_config {
    mode = var.enable_tracing ? "Active" : "PassThrough"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = tonumber(lookup(var.orchestrator_environment, "HOMEBREW_SYNC_PLAN_BUDGET_S", "0")) + 60 <= var.orchestrator_timeout
      error_message = "The orchestrator's plan budget (HOMEBREW_SYNC_PLAN_BUDGET_S) must end at least 60 s before its timeout: the rest of the run (state, dispatch, messages) needs that time."
    }
  }

  depends_on = [aws_cloudwatch_log_group.orchestrator]
}

resource "aws_lambda_function_event_invoke_config" "orchestrator" {
  function_name                = aws_lambda_function.orchestrator.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
}

################################################################################
# Sync worker: downloads a shard; re-invokes itself with the rest before its time runs out
################################################################################

resource "aws_lambda_function" "sync" {
  #checkov:skip=CKV_AWS_117:Runs outside a VPC on purpose: it downloads from ghcr.io over the internet, and a VPC would need a NAT gateway.
  #checkov:skip=CKV_AWS_272:The zip is built by scripts/build_lambda.sh from the reviewed repository; no AWS Signer profile is part of this deployment.
  function_name                  = var.sync_function_name
  description                    = "Downloads, verifies and stores Homebrew bottles (plans below the size threshold)"
  role                           = var.sync_role_arn
  handler                        = local.handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  filename                       = var.sync_zip_path
  source_code_hash               = filebase64sha256(var.sync_zip_path)
  layers                         = [aws_lambda_layer_version.dependencies.arn]
  memory_size                    = var.sync_memory_size
  timeout                        = var.sync_timeout
  reserved_concurrent_executions = var.sync_reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = var.sync_environment
  }

  tracing_config {
    mode = var.enable_tracing ? "Active" : "PassThrough"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.sync]
}

resource "aws_lambda_function_event_invoke_config" "sync" {
  function_name                = aws_lambda_function.sync.function_name
  maximum_retry_attempts       = var.sync_maximum_retry_attempts
  maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
}

################################################################################
# EventBridge may invoke the orchestrator, from the named rules only
################################################################################

resource "aws_lambda_permission" "eventbridge" {
  for_each = var.eventbridge_rule_arns

  statement_id  = "AllowEventBridge-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.orchestrator.function_name
  principal     = "events.amazonaws.com"
  source_arn    = each.value
}
