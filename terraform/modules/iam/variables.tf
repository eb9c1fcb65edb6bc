variable "name_prefix" {
  description = "Prefix of every role name."
  type        = string
}

variable "bucket_arn" {
  description = "ARN of the mirror bucket."
  type        = string
}

variable "key_prefix" {
  description = "Normalised key prefix of the mirror: \"\" or a prefix ending in \"/\"."
  type        = string
  default     = ""

  validation {
    condition     = var.key_prefix == "" || (endswith(var.key_prefix, "/") && !startswith(var.key_prefix, "/"))
    error_message = "key_prefix must be empty or end with \"/\" (and not start with one)."
  }
}

variable "kms_key_arns" {
  description = "KMS keys the engine uses: the key of the topic and the secret, plus the bucket's SSE-KMS key when there is one."
  type        = list(string)

  validation {
    condition     = length(var.kms_key_arns) > 0
    error_message = "kms_key_arns must name at least one key."
  }
}

variable "slack_webhook_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the Slack webhook URL."
  type        = string
}

variable "sns_topic_arn" {
  description = "ARN of the alert topic the engine publishes failures to."
  type        = string
}

variable "metric_namespace" {
  description = "CloudWatch namespace the engine may put metrics into (the only one allowed)."
  type        = string
  default     = "HomebrewSync"
}

variable "orchestrator_function_name" {
  description = "Name of the orchestrator Lambda function (its log group is /aws/lambda/<name>)."
  type        = string
}

variable "sync_function_name" {
  description = "Name of the sync worker Lambda function, which the orchestrator invokes and which invokes itself for continuations."
  type        = string
}

variable "lambda_dlq_arn" {
  description = "ARN of the SQS queue receiving failed asynchronous Lambda invocations."
  type        = string
}

variable "enable_tracing" {
  description = "Allow the Lambda functions to send X-Ray traces."
  type        = bool
  default     = false
}

variable "ecs_cluster_name" {
  description = "Name of the ECS cluster the orchestrator may run tasks in."
  type        = string
}

variable "ecs_task_family" {
  description = "Task definition family the orchestrator may run (any revision)."
  type        = string
}

variable "ecs_log_group_name" {
  description = "Log group the ECS task execution role ships container logs to."
  type        = string
}

variable "ecr_repository_name" {
  description = "ECR repository the ECS task execution role may pull from."
  type        = string
}

variable "enable_efs" {
  description = "Grant the ECS task role NFS client access to the scratch file system through its access point."
  type        = bool
  default     = false
}

variable "efs_file_system_arn" {
  description = "ARN of the EFS file system (required when enable_efs is true)."
  type        = string
  default     = null
}

variable "efs_access_point_arn" {
  description = "ARN of the EFS access point the task must mount through (required when enable_efs is true)."
  type        = string
  default     = null
}

variable "external_hash_file_s3_bucket" {
  description = "Bucket of the external hash file the orchestrator may read (\"\" when not used)."
  type        = string
  default     = ""
}

variable "external_hash_file_s3_key" {
  description = "Key of the external hash file the orchestrator may read (\"\" when not used)."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags added to every role (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
