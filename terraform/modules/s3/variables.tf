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

variable "layout" {
  description = "Key layout the engine writes (dated or flat); only flat can be served, so enable_cdn requires it."
  type        = string
  default     = "dated"

  validation {
    condition     = contains(["dated", "flat"], var.layout)
    error_message = "layout must be dated or flat."
  }
}

variable "enable_cdn" {
  description = "Serve the mirror to brew through CloudFront (origin access control; bottles, image indexes and api/ only). Needs layout = \"flat\"."
  type        = bool
  default     = false
}

variable "cdn_domain_name" {
  description = "Custom domain of the distribution (e.g. brew.example.com), with cdn_certificate_arn; null uses the cloudfront.net name."
  type        = string
  default     = null

  validation {
    condition     = var.cdn_domain_name == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.cdn_domain_name))
    error_message = "cdn_domain_name must be a lowercase DNS name such as brew.example.com (no scheme, no path)."
  }
}

variable "cdn_certificate_arn" {
  description = "ACM certificate covering cdn_domain_name; CloudFront reads certificates from us-east-1 only."
  type        = string
  default     = null

  validation {
    condition     = var.cdn_certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[0-9a-f-]+$", var.cdn_certificate_arn))
    error_message = "cdn_certificate_arn must be an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:<account>:certificate/<id>)."
  }
}

variable "allowed_cidrs" {
  description = "IPv4/IPv6 ranges allowed to read the mirror through CloudFront (WAF web ACL in us-east-1); empty allows everyone."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.allowed_cidrs : can(cidrhost(cidr, 0)) && strcontains(cidr, "/")])
    error_message = "allowed_cidrs must list CIDR blocks such as 203.0.113.0/24 or 2001:db8::/32."
  }
}

variable "cdn_price_class" {
  description = "CloudFront price class: PriceClass_100 (North America, Europe), PriceClass_200 or PriceClass_All."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.cdn_price_class)
    error_message = "cdn_price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "cdn_bottle_ttl_seconds" {
  description = "How long CloudFront caches a bottle; bottles are immutable by name, so the default is a year."
  type        = number
  default     = 31536000

  validation {
    condition     = var.cdn_bottle_ttl_seconds >= 3600 && var.cdn_bottle_ttl_seconds <= 31536000
    error_message = "cdn_bottle_ttl_seconds must be between 3600 and 31536000."
  }
}

variable "cdn_metadata_ttl_seconds" {
  description = "How long CloudFront caches an image index or API file; a run replaces them, so keep it short."
  type        = number
  default     = 300

  validation {
    condition     = var.cdn_metadata_ttl_seconds >= 0 && var.cdn_metadata_ttl_seconds <= 3600
    error_message = "cdn_metadata_ttl_seconds must be between 0 and 3600."
  }
}
