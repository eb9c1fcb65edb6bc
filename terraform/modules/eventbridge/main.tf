locals {
  # The orchestrator accepts manual events with exactly this source and detail-type.
  manual_event_source      = "homebrew.sync"
  manual_event_detail_type = "Manual Sync"

  rules = {
    weekly = aws_cloudwatch_event_rule.weekly
    manual = aws_cloudwatch_event_rule.manual
  }
}

################################################################################
# Rules: the weekly schedule and manual triggers (Source homebrew.sync, DetailType "Manual Sync")
################################################################################

resource "aws_cloudwatch_event_rule" "weekly" {
  name                = "${var.name_prefix}-weekly"
  description         = "Weekly Homebrew bottles sync"
  schedule_expression = var.schedule_expression
  state               = var.rule_state

  tags = var.tags
}

resource "aws_cloudwatch_event_rule" "manual" {
  name        = "${var.name_prefix}-manual"
  description = "Manual Homebrew bottles sync: aws events put-events --entries file://manual-trigger.json"
  state       = "ENABLED"

  event_pattern = jsonencode({
    source      = [local.manual_event_source]
    detail-type = [local.manual_event_detail_type]
  })

  tags = var.tags
}

################################################################################
# Dead-letter queue for events EventBridge could not deliver
################################################################################

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name_prefix}-eventbridge-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true

  tags = var.tags
}

data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for rule in local.rules : rule.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}

################################################################################
# Targets: the orchestrator, with retries and the dead-letter queue
################################################################################

resource "aws_cloudwatch_event_target" "orchestrator" {
  for_each = local.rules

  rule      = each.value.name
  target_id = "orchestrator"
  arn       = var.target_function_arn

  retry_policy {
    maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
    maximum_retry_attempts       = var.maximum_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

################################################################################
# Alarm: EventBridge could not invoke the orchestrator
################################################################################

resource "aws_cloudwatch_metric_alarm" "failed_invocations" {
  for_each = local.rules

  alarm_name          = "${each.value.name}-failed-invocations"
  alarm_description   = "EventBridge rule ${each.value.name} could not invoke the orchestrator; the event is in ${aws_sqs_queue.dlq.name}."
  namespace           = "AWS/Events"
  metric_name         = "FailedInvocations"
  dimensions          = { RuleName = each.value.name }
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
