#!/usr/bin/env bash
# Build the sync image from ecs/Dockerfile (build context: the repository root), tag it and push it
# to the ECR repository that terraform/ creates.
#
# Usage: scripts/build_image.sh [--tag TAG] [--repository-url URL] [--no-push]
#   --tag TAG             image tag (default: the git short sha; refused on a dirty work tree)
#   --repository-url URL  <account>.dkr.ecr.<region>.amazonaws.com/<name>
#                         (default: `terraform -chdir=terraform output -raw ecr_repository_url`)
#   --no-push             build and tag locally only
#
# Tags are immutable in the repository: an existing tag is never overwritten; build with a new tag,
# set image_tag in terraform.tfvars to it and run `terraform apply`.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG=""
REPOSITORY_URL=""
PUSH=1

while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) TAG="${2:?--tag needs a value}"; shift 2 ;;
    --repository-url) REPOSITORY_URL="${2:?--repository-url needs a value}"; shift 2 ;;
    --no-push) PUSH=0; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

cd "$REPO_ROOT"

if [[ -z "$TAG" ]]; then
  if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then
    echo "the work tree has uncommitted changes: commit them or pass --tag explicitly" >&2
    exit 1
  fi
  TAG="$(git rev-parse --short HEAD)"
fi
if [[ ! "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
  echo "invalid image tag: $TAG" >&2
  exit 2
fi

if [[ -z "$REPOSITORY_URL" ]]; then
  REPOSITORY_URL="$(terraform -chdir=terraform output -raw ecr_repository_url)"
fi
if [[ ! "$REPOSITORY_URL" =~ ^([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/([a-z0-9._/-]+)$ ]]; then
  echo "not an ECR repository URL: $REPOSITORY_URL" >&2
  exit 2
fi
REGISTRY="${REPOSITORY_URL%%/*}"
REGION="${BASH_REMATCH[2]}"
REPOSITORY_NAME="${BASH_REMATCH[4]}"
IMAGE="$REPOSITORY_URL:$TAG"

if [[ "$PUSH" == 1 ]] && aws ecr describe-images --region "$REGION" --repository-name "$REPOSITORY_NAME" \
  --image-ids "imageTag=$TAG" >/dev/null 2>&1; then
  echo "$IMAGE already exists and tags are immutable: build with another --tag" >&2
  exit 1
fi

docker build --platform linux/amd64 --file ecs/Dockerfile --tag "$IMAGE" .

if [[ "$PUSH" == 1 ]]; then
  aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY"
  docker push "$IMAGE"
fi

echo "image: $IMAGE"
echo "set image_tag = \"$TAG\" in terraform/terraform.tfvars, then run terraform apply"
