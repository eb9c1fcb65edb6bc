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
