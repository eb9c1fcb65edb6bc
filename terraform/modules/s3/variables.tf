variable "bucket_name" {
  description = "Name of the mirror bucket (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.|^\\d+\\.\\d+\\.\\d+\\.\\d+$|^xn--|-s3alias$|--ol-s3$", var.bucket_name))
    error_message = "bucket_name must follow the S3 naming rules: 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "access_log_bucket_name" {
  description = "Name of the server access log bucket; null means \"<bucket_name>-logs\"."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_bucket_name))
    error_message = "access_log_bucket_name must follow the S3 naming rules: 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "key_prefix" {
  description = "Key prefix of the mirror inside the bucket (\"\" for the bucket root). Lifecycle rules are scoped to it."
  type        = string
  default     = ""

  validation {
    condition     = var.key_prefix == "" || can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/?$", var.key_prefix))
    error_message = "key_prefix must be empty or a relative key prefix such as \"mirror\" or \"mirror/homebrew/\" (no leading slash)."
  }
}

variable "enable_versioning" {
  description = "Keep object versions so an overwritten state file can be restored. Noncurrent versions expire after noncurrent_version_expiration_days."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS on the mirror bucket; null uses SSE-S3 (AES256). The access log bucket always uses SSE-S3, the only encryption log delivery supports."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "lifecycle_expiration_days" {
  description = "Days after which run artefacts under runs/ (plans, shards, summaries) expire. Bottles and the state file never expire."
  type        = number
  default     = 90

  validation {
    condition     = var.lifecycle_expiration_days >= 1
    error_message = "lifecycle_expiration_days must be at least 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days a noncurrent object version (an overwritten state file or bottle) is kept before it expires."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which an unfinished multipart upload (a bottle whose digest did not match, an interrupted worker) is aborted."
  type        = number
  default     = 3

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1
    error_message = "abort_incomplete_multipart_upload_days must be at least 1."
  }
}

variable "access_log_retention_days" {
  description = "Days server access logs are kept."
  type        = number
  default     = 90

  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "access_log_retention_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Let a destroy delete the buckets with every object (and version) in them."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of the module (on top of the provider's default_tags)."
  type        = map(string)
  default     = {}
}
