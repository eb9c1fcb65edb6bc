data "aws_region" "current" {}

locals {
  region     = data.aws_region.current.id
  dimensions = ["environment", var.environment, "service", var.service_name]
  functions = {
    orchestrator = var.orchestrator_function_name
    sync         = var.sync_function_name
  }
  log_group_names = concat(var.lambda_log_group_names, [var.ecs_log_group_name])
  errors_query    = "fields @timestamp, @log, level, message, correlation_id, file, error | filter level in [\"ERROR\", \"CRITICAL\"] or @message like /Task timed out|Traceback/ | sort @timestamp desc | limit 200"
  alarm_arns = concat(
    [for alarm in aws_cloudwatch_metric_alarm.lambda_errors : alarm.arn],
    [for alarm in aws_cloudwatch_metric_alarm.lambda_throttles : alarm.arn],
    [for alarm in aws_cloudwatch_metric_alarm.dlq_depth : alarm.arn],
    aws_cloudwatch_metric_alarm.sync_failed[*].arn,
    aws_cloudwatch_metric_alarm.no_successful_sync[*].arn,
    var.extra_alarm_arns,
  )

  sync_metric = { for name in ["BottlesPlanned", "BytesPlanned", "BottlesDownloaded", "BytesDownloaded", "BottlesFailed", "SyncDurationSeconds", "SyncSucceeded", "SyncFailed"] : name => concat([var.metric_namespace, name], local.dimensions) }
}

################################################################################
# Alarms (to the alert topic)
################################################################################

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each = var.enable_cloudwatch_alarms ? local.functions : {}

  alarm_name          = "${each.value}-errors"
  alarm_description   = "The ${each.key} Lambda function raised errors. Logs: /aws/lambda/${each.value}."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
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

resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  for_each = var.enable_cloudwatch_alarms ? local.functions : {}

  alarm_name          = "${each.value}-throttles"
  alarm_description   = "The ${each.key} Lambda function was throttled: its reserved concurrency is exhausted."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value }
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

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each = var.enable_cloudwatch_alarms ? var.dlq_names : {}

  alarm_name          = "${var.name_prefix}-${each.key}-dlq-not-empty"
  alarm_description   = "Messages are waiting in the dead-letter queue ${each.value}: an invocation was lost and needs a look."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "sync_failed" {
  count = var.enable_cloudwatch_alarms ? 1 : 0

  alarm_name          = "${var.name_prefix}-sync-failed"
  alarm_description   = "A sync run failed (metric SyncFailed). See the run summary under runs/ and the orchestrator logs."
  namespace           = var.metric_namespace
  metric_name         = "SyncFailed"
  dimensions          = { environment = var.environment, service = var.service_name }
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

# "No successful sync in about 8 days". Every run publishes SyncSucceeded (1 or 0). The alarm sums it
# over the last 7 days (the longest window CloudWatch evaluates): a window with runs and no success
# breaches; a window without runs is missing data, not breaching. So it is quiet after a deploy until
# the first run, quiet while runs succeed, and fires when the weekly run fails 7 days after the last
# success (the failure itself is also reported by SNS and the sync-failed alarm). EventBridge delivery
# failures have their own alarms (failed-invocations).
resource "aws_cloudwatch_metric_alarm" "no_successful_sync" {
  count = var.enable_cloudwatch_alarms ? 1 : 0

  alarm_name          = "${var.name_prefix}-no-successful-sync"
  alarm_description   = "Runs in the last 7 days and none succeeded. Check the run summaries under runs/, the orchestrator logs and the dead-letter queues."
  namespace           = var.metric_namespace
  metric_name         = "SyncSucceeded"
  dimensions          = { environment = var.environment, service = var.service_name }
  statistic           = "Sum"
  period              = 604800
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}

################################################################################
# Dashboard
################################################################################

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${var.name_prefix}-dashboard"

  dashboard_body = jsonencode({
    widgets = [
      {
        type       = "alarm"
        x          = 0
        y          = 0
        width      = 24
        height     = 3
        properties = { title = "Alarms", alarms = local.alarm_arns }
      },
      {
        type   = "metric"
        x      = 0
        y      = 3
        width  = 8
        height = 6
        properties = {
          title   = "Runs (per day)"
          region  = local.region
          view    = "timeSeries"
          stacked = false
          stat    = "Sum"
          period  = 86400
          metrics = [local.sync_metric["SyncSucceeded"], local.sync_metric["SyncFailed"]]
        }
      },
      {
        type   = "metric"
        x      = 8
        y      = 3
        width  = 8
        height = 6
        properties = {
          title   = "Bottles (per day)"
          region  = local.region
          view    = "timeSeries"
          stacked = false
          stat    = "Sum"
          period  = 86400
          metrics = [local.sync_metric["BottlesPlanned"], local.sync_metric["BottlesDownloaded"], local.sync_metric["BottlesFailed"]]
        }
      },
      {
        type   = "metric"
        x      = 16
        y      = 3
        width  = 8
        height = 6
        properties = {
          title   = "Bytes (per day)"
          region  = local.region
          view    = "timeSeries"
          stacked = false
          stat    = "Sum"
          period  = 86400
          metrics = [local.sync_metric["BytesPlanned"], local.sync_metric["BytesDownloaded"]]
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 9
        width  = 8
        height = 6
        properties = {
          title   = "Sync duration (seconds)"
          region  = local.region
          view    = "timeSeries"
          stacked = false
          stat    = "Maximum"
          period  = 86400
          metrics = [local.sync_metric["SyncDurationSeconds"]]
        }
      },
      {
        type   = "metric"
        x      = 8
        y      = 9
        width  = 8
        height = 6
        properties = {
          title   = "Lambda invocations, errors, throttles"
          region  = local.region
          view    = "timeSeries"
          stacked = false
          stat    = "Sum"
          period  = 3600
          metrics = flatten([for key, name in local.functions : [
            ["AWS/Lambda", "Invocations", "FunctionName", name],
            ["AWS/Lambda", "Errors", "FunctionName", name],
            ["AWS/Lambda", "Throttles", "FunctionName", name],
          ]])
        }
      },
      {
        type   = "metric"
        x      = 16
        y      = 9
        width  = 8
        height = 6
        properties = {
          title   = "Lambda duration (ms, max)"
          region  = local.region
          view    = "timeSeries"
          stacked = false
          stat    = "Maximum"
          period  = 3600
          metrics = [for key, name in local.functions : ["AWS/Lambda", "Duration", "FunctionName", name]]
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 15
        width  = 8
        height = 6
        properties = {
          title   = "ECS tasks: CPU and memory used, running tasks"
          region  = local.region
          view    = "timeSeries"
          stacked = false
          stat    = "Maximum"
          period  = 300
          metrics = [
            ["ECS/ContainerInsights", "CpuUtilized", "ClusterName", var.ecs_cluster_name],
            ["ECS/ContainerInsights", "MemoryUtilized", "ClusterName", var.ecs_cluster_name],
            ["ECS/ContainerInsights", "TaskCount", "ClusterName", var.ecs_cluster_name],
          ]
        }
      },
      {
        type   = "metric"
        x      = 8
        y      = 15
        width  = 8
        height = 6
        properties = {
          title   = "ECS failed tasks"
          region  = local.region
          view    = "timeSeries"
          stacked = false
          stat    = "Sum"
          period  = 3600
          metrics = [["AWS/Events", "TriggeredRules", "RuleName", var.ecs_task_failed_rule_name]]
        }
      },
      {
        type   = "metric"
        x      = 16
        y      = 15
        width  = 8
        height = 6
        properties = {
          title   = "Dead-letter queues (messages waiting)"
          region  = local.region
          view    = "timeSeries"
          stacked = false
          stat    = "Maximum"
          period  = 300
          metrics = [for key, name in var.dlq_names : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", name]]
        }
      },
      {
        type   = "log"
        x      = 0
        y      = 21
        width  = 24
        height = 6
        properties = {
          title  = "Recent errors (Lambda and ECS)"
          region = local.region
          view   = "table"
          query  = "SOURCE ${join(" | SOURCE ", [for name in local.log_group_names : "'${name}'"])} | ${local.errors_query}"
        }
      },
    ]
  })
}

################################################################################
# Saved Logs Insights queries
################################################################################

resource "aws_cloudwatch_query_definition" "errors" {
  name            = "${var.name_prefix}/Errors"
  log_group_names = local.log_group_names
  query_string    = local.errors_query
}

resource "aws_cloudwatch_query_definition" "runs" {
  name            = "${var.name_prefix}/Runs"
  log_group_names = local.log_group_names
  query_string    = "fields @timestamp, correlation_id, message | filter ispresent(correlation_id) | stats earliest(@timestamp) as started, latest(@timestamp) as last_seen, count(*) as lines by correlation_id | sort started desc | limit 50"
}

resource "aws_cloudwatch_query_definition" "failed_bottles" {
  name            = "${var.name_prefix}/Failed bottles"
  log_group_names = local.log_group_names
  query_string    = "fields @timestamp, correlation_id, file, error | filter ispresent(file) and level in [\"WARNING\", \"ERROR\"] | stats count(*) as failures, latest(error) as last_error, latest(correlation_id) as last_run by file | sort failures desc | limit 100"
}

resource "aws_cloudwatch_query_definition" "lambda_usage" {
  name            = "${var.name_prefix}/Lambda duration and memory"
  log_group_names = var.lambda_log_group_names
  query_string    = "filter @type = \"REPORT\" | stats count(*) as invocations, max(@duration) as max_ms, pct(@duration, 95) as p95_ms, max(@maxMemoryUsed / 1048576) as max_memory_mb by @log"
}
