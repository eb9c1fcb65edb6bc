################################################################################
# The spec's settings
################################################################################

variable "aws_region" {
  description = "AWS region for deployment."
  type        = string
  default     = "us-west-2"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be a region name such as us-west-2."
  }
}

variable "environment" {
  description = "Environment name (dev/staging/prod): tags, the environment metric dimension, notifications."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,31}$", var.environment))
    error_message = "environment must be 1-32 lowercase letters, digits or hyphens."
  }
}

variable "s3_bucket_name" {
  description = "S3 bucket for bottle storage (created by this configuration; globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,56}[a-z0-9]$", var.s3_bucket_name)) && !can(regex("\\.\\.", var.s3_bucket_name))
    error_message = "s3_bucket_name must be 3-58 lowercase letters, digits, dots or hyphens (\"-logs\" is appended for the access log bucket)."
  }
}

variable "slack_webhook_url" {
  description = "Slack webhook for notifications, stored in Secrets Manager (and in the Terraform state). Leave null to put the value into the secret yourself."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.slack_webhook_url == null || can(regex("^https://[^[:space:]]+$", var.slack_webhook_url))
    error_message = "slack_webhook_url must be an https:// URL."
  }
}

variable "size_threshold_gb" {
  description = "Threshold for Lambda vs ECS routing: plans estimated below it run on the sync Lambda, the rest on ECS Fargate."
  type        = number
  default     = 20

  validation {
    condition     = var.size_threshold_gb > 0
    error_message = "size_threshold_gb must be greater than 0."
  }
}

variable "enable_notifications" {
  description = "Enable Slack notifications (start, progress, success, failure)."
  type        = bool
  default     = true
}

variable "schedule_expression" {
  description = "EventBridge cron expression of the weekly sync (UTC)."
  type        = string
  default     = "cron(0 3 ? * SUN *)"

  validation {
    condition     = can(regex("^(cron\\([^)]+\\)|rate\\([0-9]+ (minute|minutes|hour|hours|day|days)\\))$", var.schedule_expression))
    error_message = "schedule_expression must be an EventBridge expression such as cron(0 3 ? * SUN *) or rate(7 days)."
  }
}

variable "external_hash_file_s3_key" {
  description = "S3 key for an external hash file (with external_hash_file_s3_bucket)."
  type        = string
  default     = null
}

variable "external_hash_file_s3_bucket" {
  description = "S3 bucket for an external hash file (with external_hash_file_s3_key); the orchestrator may read that one object."
  type        = string
  default     = null

  validation {
    condition     = var.external_hash_file_s3_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.external_hash_file_s3_bucket))
    error_message = "external_hash_file_s3_bucket must be a bucket name (not an s3:// URI)."
  }
}

variable "external_hash_file_url" {
  description = "HTTPS URL for an external hash file."
  type        = string
  default     = null

  validation {
    condition     = var.external_hash_file_url == null || can(regex("^https://[^[:space:]]+$", var.external_hash_file_url))
    error_message = "external_hash_file_url must be an https:// URL."
  }
}

################################################################################
# Naming and tags
################################################################################

variable "name_prefix" {
  description = "Prefix of every resource name (<prefix>-orchestrator, <prefix>-worker, /aws/ecs/<prefix>, ...). Use a different one per environment in the same account."
  type        = string
  default     = "homebrew-sync"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags for every resource (Project, Environment and ManagedBy come from the provider's default_tags)."
  type        = map(string)
  default     = {}
}

################################################################################
# What to mirror and how
################################################################################

variable "platforms" {
  description = "Bottle tags to mirror, or latest:N for the N newest macOS tags in the API."
  type        = list(string)
  default     = ["arm64_sonoma", "arm64_ventura", "monterey"]

  validation {
    condition     = length(var.platforms) > 0 && alltrue([for platform in var.platforms : can(regex("^(latest:[1-9][0-9]*|[a-z0-9_]+)$", platform))])
    error_message = "platforms must list bottle tags (e.g. arm64_sonoma) or latest:N."
  }
}

variable "layout" {
  description = "Key layout of the mirror: dated (YYYY-MM-DD/<file>, as in the spec) or flat (<file> at the prefix root, usable as HOMEBREW_BOTTLE_DOMAIN)."
  type        = string
  default     = "dated"

  validation {
    condition     = contains(["dated", "flat"], var.layout)
    error_message = "layout must be dated or flat."
  }
}

variable "s3_prefix" {
  description = "Key prefix of the mirror inside the bucket (\"\" for the bucket root)."
  type        = string
  default     = ""

  validation {
    condition     = var.s3_prefix == "" || can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/?$", var.s3_prefix))
    error_message = "s3_prefix must be empty or a relative key prefix such as \"mirror\" (no leading slash)."
  }
}

variable "concurrency" {
  description = "Concurrent bottle downloads per worker."
  type        = number
  default     = 8

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 64
    error_message = "concurrency must be between 1 and 64."
  }
}

variable "max_shards" {
  description = "Maximum number of shards a large plan is split into (parallel sync Lambdas or ECS tasks)."
  type        = number
  default     = 4

  validation {
    condition     = var.max_shards >= 1 && var.max_shards <= 50
    error_message = "max_shards must be between 1 and 50."
  }
}

variable "api_url" {
  description = "Base URL of the Homebrew formula API."
  type        = string
  default     = "https://formulae.brew.sh/api"

  validation {
    condition     = can(regex("^https://[^[:space:]]+$", var.api_url))
    error_message = "api_url must be an https:// URL."
  }
}

variable "registry_url" {
  description = "Registry root bottles are downloaded from."
  type        = string
  default     = "https://ghcr.io/v2/homebrew/core"

  validation {
    condition     = can(regex("^https://[^[:space:]]+$", var.registry_url))
    error_message = "registry_url must be an https:// URL."
  }
}

variable "allow_hosts" {
  description = "Hosts blob downloads may be redirected to (besides the API and registry hosts)."
  type        = list(string)
  default     = ["pkg-containers.githubusercontent.com"]

  validation {
    condition     = alltrue([for host in var.allow_hosts : can(regex("^[a-z0-9.-]+$", host))])
    error_message = "allow_hosts must list bare host names (no scheme, no path)."
  }
}

variable "require_signature" {
  description = "Verify the signed formula.jws.json against Homebrew's pinned key before trusting any sha256."
  type        = bool
  default     = false
}

variable "log_level" {
  description = "Log level of the handlers and the container (POWERTOOLS_LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "enable_tracing" {
  description = "Active X-Ray tracing of the Lambda functions."
  type        = bool
  default     = false
}

################################################################################
# Storage
################################################################################

variable "s3_kms_key_arn" {
  description = "KMS key for SSE-KMS on the mirror bucket; null uses SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.s3_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.s3_kms_key_arn))
    error_message = "s3_kms_key_arn must be a KMS key ARN."
  }
}

variable "access_log_bucket_name" {
  description = "Name of the server access log bucket; null means \"<s3_bucket_name>-logs\"."
  type        = string
  default     = null
}

variable "lifecycle_expiration_days" {
  description = "Days after which run artefacts (runs/<run_id>/: plans, shards, summaries) expire. Bottles never expire."
  type        = number
  default     = 90

  validation {
    condition     = var.lifecycle_expiration_days >= 1
    error_message = "lifecycle_expiration_days must be at least 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days noncurrent object versions (earlier state files, replaced bottles) are kept."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

################################################################################
# Serving brew (CloudFront)
################################################################################

variable "enable_cdn" {
  description = "Serve the mirror to brew through CloudFront in front of the bucket (bottles, image indexes and api/ only). Needs layout = \"flat\"."
  type        = bool
  default     = false
}

variable "cdn_domain_name" {
  description = "Custom domain of the mirror (e.g. brew.example.com), with cdn_certificate_arn; null uses the distribution's cloudfront.net name. Point a DNS CNAME/alias at it yourself."
  type        = string
  default     = null
}

variable "cdn_certificate_arn" {
  description = "ACM certificate in us-east-1 covering cdn_domain_name."
  type        = string
  default     = null
}

variable "allowed_cidrs" {
  description = "IP ranges (IPv4 or IPv6 CIDR) allowed to read the mirror; when set, a WAF web ACL blocks every other address. Empty allows everyone."
  type        = list(string)
  default     = []
}

variable "cdn_price_class" {
  description = "CloudFront price class: PriceClass_100 (North America, Europe; cheapest), PriceClass_200 or PriceClass_All."
  type        = string
  default     = "PriceClass_100"
}

################################################################################
# Network
################################################################################

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.0.0.0/16"
}

variable "availability_zones" {
  description = "Two availability zones; empty picks the first two available zones of the region."
  type        = list(string)
  default     = []
}

variable "public_subnet_cidrs" {
  description = "CIDR blocks of the two public subnets."
  type        = list(string)
  default     = ["10.0.1.0/24", "10.0.2.0/24"]
}

variable "private_subnet_cidrs" {
  description = "CIDR blocks of the two private subnets."
  type        = list(string)
  default     = ["10.0.10.0/24", "10.0.20.0/24"]
}

variable "nat_gateway_mode" {
  description = "one_per_az (the spec's layout, about $73/month), single (about $37/month) or none (tasks in public subnets with a public IP, no NAT cost)."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["one_per_az", "single", "none"], var.nat_gateway_mode)
    error_message = "nat_gateway_mode must be one of: one_per_az, single, none."
  }
}

variable "enable_flow_logs" {
  description = "Record rejected VPC traffic in CloudWatch Logs."
  type        = bool
  default     = true
}

################################################################################
# Lambda
################################################################################

variable "orchestrator_zip_path" {
  description = "orchestrator.zip from scripts/build_lambda.sh, relative to the terraform/ directory."
  type        = string
  default     = "../build/lambda/orchestrator.zip"
}

variable "sync_zip_path" {
  description = "sync.zip from scripts/build_lambda.sh, relative to the terraform/ directory."
  type        = string
  default     = "../build/lambda/sync.zip"
}

variable "layer_zip_path" {
  description = "layer.zip from scripts/build_lambda.sh, relative to the terraform/ directory."
  type        = string
  default     = "../build/lambda/layer.zip"
}

variable "orchestrator_memory_size" {
  description = "Memory of the orchestrator in MB."
  type        = number
  default     = 512
}

variable "orchestrator_timeout" {
  description = "Timeout of the orchestrator in seconds."
  type        = number
  default     = 300
}

variable "sync_memory_size" {
  description = "Memory of the sync worker in MB."
  type        = number
  default     = 3008
}

variable "sync_timeout" {
  description = "Timeout of the sync worker in seconds."
  type        = number
  default     = 900
}

variable "sync_reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) the sync worker, at least max_shards + 1 when set. null (default) reserves none: a new account's quota (10) admits no reservation; see docs/deploy.md."
  type        = number
  default     = null

  validation {
    condition     = var.sync_reserved_concurrency == null ? true : var.sync_reserved_concurrency >= 1
    error_message = "sync_reserved_concurrency must be null or at least 1."
  }
}

variable "orchestrator_reserved_concurrency" {
  description = "Concurrent executions reserved for the orchestrator. null (default) reserves none: the run lock in S3 already allows one run at a time."
  type        = number
  default     = null

  validation {
    condition     = var.orchestrator_reserved_concurrency == null ? true : var.orchestrator_reserved_concurrency >= 1
    error_message = "orchestrator_reserved_concurrency must be null or at least 1."
  }
}

variable "plan_budget_s" {
  description = "Longest the orchestrator may spend estimating sizes (HOMEBREW_SYNC_PLAN_BUDGET_S); past it the run goes to ECS. Must end 60 s before orchestrator_timeout."
  type        = number
  default     = 120

  validation {
    condition     = var.plan_budget_s > 0 && var.plan_budget_s + 60 <= var.orchestrator_timeout
    error_message = "plan_budget_s must be positive and end at least 60 s before orchestrator_timeout: the rest of the run (state, dispatch, messages) needs that time."
  }
}

variable "log_retention_days" {
  description = "Retention of every log group in days."
  type        = number
  default     = 14
}

################################################################################
# ECS
################################################################################

variable "image_tag" {
  description = "Tag of the sync image pushed by scripts/build_image.sh (e.g. the git short sha). Tags are immutable: a new image needs a new tag."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid image tag: up to 128 letters, digits, _ . - (not starting with . or -)."
  }
}

variable "ecs_container_name" {
  description = "Name of the sync container in the task definition."
  type        = string
  default     = "homebrew-sync"
}

variable "task_cpu" {
  description = "CPU units of the ECS task (2048 = 2 vCPU)."
  type        = number
  default     = 2048
}

variable "task_memory" {
  description = "Memory of the ECS task in MiB."
  type        = number
  default     = 8192
}

variable "ephemeral_storage_size_gb" {
  description = "Ephemeral storage of the ECS task in GiB."
  type        = number
  default     = 100
}

variable "ecs_capacity_provider" {
  description = "Capacity provider of the sync tasks: FARGATE, or FARGATE_SPOT (about 70% cheaper; an interrupted task checkpoints on SIGTERM)."
  type        = string
  default     = "FARGATE"

  validation {
    condition     = contains(["FARGATE", "FARGATE_SPOT"], var.ecs_capacity_provider)
    error_message = "ecs_capacity_provider must be FARGATE or FARGATE_SPOT."
  }
}

variable "enable_efs" {
  description = "Mount an EFS file system at /mnt/efs as the task's scratch space (HOMEBREW_SYNC_WORK_DIR). Off by default: the task streams bottles and needs no shared disk; ephemeral storage holds the API cache."
  type        = bool
  default     = false
}

variable "progress_every_percent" {
  description = "ECS task: Slack progress message every N percent of the plan."
  type        = number
  default     = 10

  validation {
    condition     = var.progress_every_percent >= 1 && var.progress_every_percent <= 100
    error_message = "progress_every_percent must be between 1 and 100."
  }
}

variable "progress_every_minutes" {
  description = "ECS task: Slack progress message at least every N minutes."
  type        = number
  default     = 5

  validation {
    condition     = var.progress_every_minutes > 0
    error_message = "progress_every_minutes must be greater than 0."
  }
}

################################################################################
# Notifications and monitoring
################################################################################

variable "notification_email_addresses" {
  description = "Email addresses subscribed to the alert topic (alarms and failures)."
  type        = list(string)
  default     = []
}

variable "create_kms_key" {
  description = "Create a customer managed KMS key for the topic, the secret, log groups and the image repository; when false, kms_key_arn must name one."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Existing customer managed KMS key to use when create_kms_key is false."
  type        = string
  default     = null
}

variable "enable_cloudwatch_alarms" {
  description = "Create the CloudWatch alarms of the monitoring module."
  type        = bool
  default     = true
}

################################################################################
# First deploy and teardown
################################################################################

variable "create_ecs_service_linked_role" {
  description = "Create the ECS service-linked role (AWSServiceRoleForECS). Set true on an account that has never used ECS; leave false where the role exists (creating it twice fails)."
  type        = bool
  default     = false
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the mirror bucket, the access-log bucket and the image repository with their contents. Off by default: a destroy then stops at non-empty stores (see docs/deploy.md, Teardown)."
  type        = bool
  default     = false
}

variable "secret_recovery_window_days" {
  description = "Days a deleted Slack webhook secret can be restored (0 deletes it at once, so the same name can be re-created right away; otherwise 7-30)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

################################################################################
# API files and retention (engine settings)
################################################################################

variable "publish_api" {
  description = "Mirror the API files brew reads under api/ (HOMEBREW_SYNC_PUBLISH_API)."
  type        = bool
  default     = true
}

variable "max_api_mb" {
  description = "Largest API file accepted, decoded, in MB (HOMEBREW_SYNC_MAX_API_MB, 16-4096)."
  type        = number
  default     = 512

  validation {
    condition     = var.max_api_mb >= 16 && var.max_api_mb <= 4096
    error_message = "max_api_mb must be between 16 and 4096."
  }
}

variable "prune_after_sync" {
  description = "Delete old bottle versions after every complete sync (HOMEBREW_SYNC_PRUNE_AFTER_SYNC); a manual trigger can also ask for it with \"prune\": true."
  type        = bool
  default     = false
}

variable "prune_keep_versions" {
  description = "Versions of each formula and platform that pruning keeps (HOMEBREW_SYNC_PRUNE_KEEP_VERSIONS, 1-100)."
  type        = number
  default     = 2

  validation {
    condition     = var.prune_keep_versions >= 1 && var.prune_keep_versions <= 100
    error_message = "prune_keep_versions must be between 1 and 100."
  }
}

variable "prune_older_than_days" {
  description = "Pruning deletes only bottles older than this many days (HOMEBREW_SYNC_PRUNE_OLDER_THAN_DAYS, 0-3650)."
  type        = number
  default     = 30

  validation {
    condition     = var.prune_older_than_days >= 0 && var.prune_older_than_days <= 3650
    error_message = "prune_older_than_days must be between 0 and 3650."
  }
}
