provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project     = "homebrew-bottles-sync"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

# CloudFront reads WAF web ACLs (scope CLOUDFRONT) and ACM certificates from us-east-1 only.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  default_tags {
    tags = {
      Project     = "homebrew-bottles-sync"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}
