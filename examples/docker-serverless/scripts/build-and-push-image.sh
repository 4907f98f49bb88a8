#!/usr/bin/env bash
# Build the Lambda image with Docker and push it to ECR. Usage: ./scripts/build-and-push-image.sh STAGE REGION
set -euo pipefail
STAGE="${1:-dev}"
REGION="${2:-us-east-1}"
command -v docker >/dev/null || { echo "Docker is required"; exit 1; }
command -v aws >/dev/null || { echo "The AWS CLI is required"; exit 1; }
ACCOUNT_ID="$(aws sts get-caller-identity --query Account --output text)"
REPO="traffic-manager-${STAGE}"
REGISTRY="${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com"
aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY"
docker build -t "${REPO}:latest" .
docker tag "${REPO}:latest" "${REGISTRY}/${REPO}:latest"
docker push "${REGISTRY}/${REPO}:latest"
