variable "name_prefix" {
  description = "Prefix of every resource name (alarms, dashboard, saved queries)."
  type        = string
}

variable "environment" {
  description = "Environment name; the value of the environment dimension of the sync metrics."
  type        = string
}

variable "service_name" {
  description = "Value of the service dimension of the sync metrics (POWERTOOLS_SERVICE_NAME)."
  type        = string
  default     = "homebrew-sync"
}

variable "metric_namespace" {
  description = "CloudWatch namespace of the sync metrics (POWERTOOLS_METRICS_NAMESPACE)."
  type        = string
  default     = "HomebrewSync"
}

variable "enable_cloudwatch_alarms" {
  description = "Create the alarms (the dashboard and saved queries are always created)."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm changes state (the alert topic)."
  type        = list(string)
  default     = []
}

variable "orchestrator_function_name" {
  description = "Name of the orchestrator Lambda function."
  type        = string
}

variable "sync_function_name" {
  description = "Name of the sync worker Lambda function."
  type        = string
}

variable "lambda_log_group_names" {
  description = "Log groups of the Lambda functions."
  type        = list(string)
}

variable "ecs_cluster_name" {
  description = "Name of the ECS cluster."
  type        = string
}

variable "ecs_log_group_name" {
  description = "Log group of the sync container."
  type        = string
}

variable "ecs_task_failed_rule_name" {
  description = "EventBridge rule matching failed sync tasks (its TriggeredRules metric counts them)."
  type        = string
}

variable "dlq_names" {
  description = "Dead-letter queues to watch, by a short key (e.g. lambda, eventbridge)."
  type        = map(string)
  default     = {}
}

variable "extra_alarm_arns" {
  description = "Alarms created elsewhere (ECS failed tasks, EventBridge failed invocations) shown in the dashboard's alarm widget."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource of the module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
