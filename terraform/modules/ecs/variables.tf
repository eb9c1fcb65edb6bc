variable "cluster_name" {
  description = "Name of the ECS cluster (also used for the EFS file system and the failed-task rule)."
  type        = string
}

variable "task_family" {
  description = "Family of the task definition; the orchestrator runs its latest revision."
  type        = string
}

variable "repository_name" {
  description = "Name of the ECR repository holding the sync image."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$", var.repository_name))
    error_message = "repository_name must be a valid ECR repository name (lowercase letters, digits, . _ - /)."
  }
}

variable "log_group_name" {
  description = "Log group of the sync container."
  type        = string
  default     = "/aws/ecs/homebrew-sync"
}

variable "container_name" {
  description = "Name of the sync container; the orchestrator overrides its environment per run."
  type        = string
  default     = "homebrew-sync"
}

variable "image_tag" {
  description = "Tag of the sync image in the repository (pushed by scripts/build_image.sh; tags are immutable)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid image tag: up to 128 letters, digits, _ . - (not starting with . or -)."
  }
}

variable "image_retention_count" {
  description = "Number of tagged images kept in the repository."
  type        = number
  default     = 20

  validation {
    condition     = var.image_retention_count >= 1
    error_message = "image_retention_count must be at least 1."
  }
}

variable "task_cpu" {
  description = "CPU units of the task (1024 = 1 vCPU)."
  type        = number
  default     = 2048

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.task_cpu)
    error_message = "task_cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "task_memory" {
  description = "Memory of the task in MiB; must be a combination Fargate supports for task_cpu."
  type        = number
  default     = 8192

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 122880 && var.task_memory % 512 == 0
    error_message = "task_memory must be between 512 and 122880 MiB, in steps of 512."
  }
}

variable "ephemeral_storage_size_gb" {
  description = "Ephemeral storage of the task in GiB (Fargate: 21-200)."
  type        = number
  default     = 100

  validation {
    condition     = var.ephemeral_storage_size_gb >= 21 && var.ephemeral_storage_size_gb <= 200
    error_message = "ephemeral_storage_size_gb must be between 21 and 200."
  }
}

variable "stop_timeout" {
  description = "Seconds between SIGTERM and SIGKILL; the task checkpoints in that time (Fargate maximum: 120)."
  type        = number
  default     = 120

  validation {
    condition     = var.stop_timeout >= 2 && var.stop_timeout <= 120
    error_message = "stop_timeout must be between 2 and 120 seconds."
  }
}

variable "default_capacity_provider" {
  description = "Default capacity provider of the cluster (the orchestrator chooses one per run)."
  type        = string
  default     = "FARGATE"

  validation {
    condition     = contains(["FARGATE", "FARGATE_SPOT"], var.default_capacity_provider)
    error_message = "default_capacity_provider must be FARGATE or FARGATE_SPOT."
  }
}

variable "enable_container_insights" {
  description = "Enable Container Insights on the cluster."
  type        = bool
  default     = true
}

variable "execution_role_arn" {
  description = "ARN of the task execution role (image pull, log delivery)."
  type        = string
}

variable "task_role_arn" {
  description = "ARN of the task role (mirror bucket, secret, topic, metrics)."
  type        = string
}

variable "environment" {
  description = "Environment variables of the sync container (settings only; never secrets). HOMEBREW_SYNC_WORK_DIR is added when EFS is enabled."
  type        = map(string)
}

variable "kms_key_arn" {
  description = "KMS key for the image repository, the log groups and the EFS file system."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the task log group in days."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention period CloudWatch Logs supports (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "enable_efs" {
  description = "Create an EFS file system with an access point and mount it in the task as scratch space."
  type        = bool
  default     = true
}

variable "efs_subnet_ids" {
  description = "Subnets of the EFS mount targets (one per availability zone)."
  type        = list(string)
  default     = []
}

variable "efs_security_group_id" {
  description = "Security group of the EFS mount targets (required when enable_efs is true)."
  type        = string
  default     = null
}

variable "efs_mount_path" {
  description = "Where the access point is mounted in the container; passed as HOMEBREW_SYNC_WORK_DIR."
  type        = string
  default     = "/mnt/efs"
}

variable "efs_root_directory" {
  description = "Root directory of the access point inside the file system."
  type        = string
  default     = "/homebrew-sync"

  validation {
    condition     = startswith(var.efs_root_directory, "/")
    error_message = "efs_root_directory must be an absolute path."
  }
}

variable "efs_transition_to_ia" {
  description = "When files move to EFS Infrequent Access."
  type        = string
  default     = "AFTER_30_DAYS"

  validation {
    condition     = contains(["AFTER_1_DAY", "AFTER_7_DAYS", "AFTER_14_DAYS", "AFTER_30_DAYS", "AFTER_60_DAYS", "AFTER_90_DAYS", "AFTER_180_DAYS", "AFTER_270_DAYS", "AFTER_365_DAYS"], var.efs_transition_to_ia)
    error_message = "efs_transition_to_ia must be one of AFTER_1_DAY, AFTER_7_DAYS, AFTER_14_DAYS, AFTER_30_DAYS, AFTER_60_DAYS, AFTER_90_DAYS, AFTER_180_DAYS, AFTER_270_DAYS, AFTER_365_DAYS."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when a task fails (the alert topic)."
  type        = list(string)
  default     = []
}

variable "task_stopped_function_arn" {
  description = "Function EventBridge sends the events of tasks that stopped other than by success to (the orchestrator, which notifies)."
  type        = string
}

variable "create_service_linked_role" {
  description = "Create the ECS service-linked role (for an account that has never used ECS)."
  type        = bool
  default     = false
}

variable "force_destroy" {
  description = "Let a destroy delete the image repository with its images."
  type        = bool
  default     = false
}

variable "usage_alarm_threshold_percent" {
  description = "CPU or memory use of a sync task, in percent of its reservation, above which an alarm fires."
  type        = number
  default     = 90

  validation {
    condition     = var.usage_alarm_threshold_percent > 0 && var.usage_alarm_threshold_percent <= 100
    error_message = "usage_alarm_threshold_percent must be between 1 and 100."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
