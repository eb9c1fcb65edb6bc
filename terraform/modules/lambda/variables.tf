variable "orchestrator_function_name" {
  description = "Name of the orchestrator function."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.orchestrator_function_name))
    error_message = "orchestrator_function_name must be 1-64 letters, digits, hyphens or underscores."
  }
}

variable "sync_function_name" {
  description = "Name of the sync worker function."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.sync_function_name))
    error_message = "sync_function_name must be 1-64 letters, digits, hyphens or underscores."
  }
}

variable "dlq_name" {
  description = "Name of the SQS dead-letter queue shared by both functions."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,80}$", var.dlq_name))
    error_message = "dlq_name must be 1-80 letters, digits, hyphens or underscores."
  }
}

variable "layer_name" {
  description = "Name of the dependencies layer."
  type        = string
}

variable "orchestrator_zip_path" {
  description = "Path of orchestrator.zip built by scripts/build_lambda.sh (handler.py and the shared package at the root)."
  type        = string
}

variable "sync_zip_path" {
  description = "Path of sync.zip built by scripts/build_lambda.sh."
  type        = string
}

variable "layer_zip_path" {
  description = "Path of layer.zip built by scripts/build_lambda.sh (python/ with the runtime dependencies)."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime of both functions and the layer."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.12 or python3.13 (the layer is built for that Python version)."
  }
}

variable "architecture" {
  description = "Instruction set of both functions; the layer's wheels are built for manylinux2014_x86_64."
  type        = string
  default     = "x86_64"

  validation {
    condition     = var.architecture == "x86_64"
    error_message = "architecture must be x86_64: scripts/build_lambda.sh builds the layer for manylinux2014_x86_64."
  }
}

variable "orchestrator_role_arn" {
  description = "Execution role of the orchestrator."
  type        = string
}

variable "sync_role_arn" {
  description = "Execution role of the sync worker."
  type        = string
}

variable "orchestrator_memory_size" {
  description = "Memory of the orchestrator in MB."
  type        = number
  default     = 512

  validation {
    condition     = var.orchestrator_memory_size >= 128 && var.orchestrator_memory_size <= 10240
    error_message = "orchestrator_memory_size must be between 128 and 10240 MB."
  }
}

variable "orchestrator_timeout" {
  description = "Timeout of the orchestrator in seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.orchestrator_timeout >= 1 && var.orchestrator_timeout <= 900
    error_message = "orchestrator_timeout must be between 1 and 900 seconds."
  }
}

variable "sync_memory_size" {
  description = "Memory of the sync worker in MB (more memory also means more CPU and network bandwidth)."
  type        = number
  default     = 3008

  validation {
    condition     = var.sync_memory_size >= 128 && var.sync_memory_size <= 10240
    error_message = "sync_memory_size must be between 128 and 10240 MB."
  }
}

variable "sync_timeout" {
  description = "Timeout of the sync worker in seconds; before it, the worker checkpoints and hands the rest to a continuation."
  type        = number
  default     = 900

  validation {
    condition     = var.sync_timeout >= 60 && var.sync_timeout <= 900
    error_message = "sync_timeout must be between 60 and 900 seconds."
  }
}

variable "orchestrator_reserved_concurrency" {
  description = "Concurrent executions reserved for the orchestrator; null reserves none (the run lock already allows one run at a time)."
  type        = number
  default     = null

  validation {
    condition     = var.orchestrator_reserved_concurrency == null ? true : var.orchestrator_reserved_concurrency >= 1
    error_message = "orchestrator_reserved_concurrency must be null or at least 1."
  }
}

variable "sync_reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) the sync worker; null reserves none."
  type        = number
  default     = null

  validation {
    condition     = var.sync_reserved_concurrency == null ? true : var.sync_reserved_concurrency >= 1
    error_message = "sync_reserved_concurrency must be null or at least 1."
  }
}

variable "sync_maximum_retry_attempts" {
  description = "Times Lambda retries a failed asynchronous sync invocation (0-2); a retried shard resumes from its checkpoint."
  type        = number
  default     = 1

  validation {
    condition     = var.sync_maximum_retry_attempts >= 0 && var.sync_maximum_retry_attempts <= 2
    error_message = "sync_maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "Maximum age of a queued asynchronous invocation before it goes to the dead-letter queue."
  type        = number
  default     = 3600

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 21600
    error_message = "maximum_event_age_in_seconds must be between 60 and 21600."
  }
}

variable "orchestrator_environment" {
  description = "Environment variables of the orchestrator (settings only; never secrets)."
  type        = map(string)
}

variable "sync_environment" {
  description = "Environment variables of the sync worker (settings only; never secrets)."
  type        = map(string)
}

variable "enable_tracing" {
  description = "Active X-Ray tracing for both functions."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "KMS key encrypting the log groups and the functions' environment variables."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the function log groups in days."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention period CloudWatch Logs supports (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "eventbridge_rule_arns" {
  description = "EventBridge rules allowed to invoke the orchestrator, by a short key (e.g. weekly, manual)."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags added to every resource of the module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
