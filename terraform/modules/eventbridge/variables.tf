variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "schedule_expression" {
  description = "Schedule of the weekly sync (EventBridge cron or rate expression, UTC)."
  type        = string
  default     = "cron(0 3 ? * SUN *)"

  validation {
    condition     = can(regex("^(cron\\([^)]+\\)|rate\\([0-9]+ (minute|minutes|hour|hours|day|days)\\))$", var.schedule_expression))
    error_message = "schedule_expression must be an EventBridge expression such as cron(0 3 ? * SUN *) or rate(7 days)."
  }
}

variable "rule_state" {
  description = "State of the weekly rule: ENABLED or DISABLED (manual triggers keep working)."
  type        = string
  default     = "ENABLED"

  validation {
    condition     = contains(["ENABLED", "DISABLED"], var.rule_state)
    error_message = "rule_state must be ENABLED or DISABLED."
  }
}

variable "target_function_arn" {
  description = "ARN of the orchestrator Lambda function."
  type        = string
}

variable "maximum_retry_attempts" {
  description = "Times EventBridge retries delivering an event to the orchestrator (0-185)."
  type        = number
  default     = 4

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 185
    error_message = "maximum_retry_attempts must be between 0 and 185."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "Age after which an undelivered event goes to the dead-letter queue (60-86400)."
  type        = number
  default     = 3600

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 86400
    error_message = "maximum_event_age_in_seconds must be between 60 and 86400."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when an invocation fails (the alert topic)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource of the module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
