# Build the Lambda image with Docker and push it to ECR. Usage: .\scripts\build-and-push-image.ps1 -stage dev -region us-east-1
param([string]$stage = "dev", [string]$region = "us-east-1")
$ErrorActionPreference = "Stop"
if (-not (Get-Command docker -ErrorAction SilentlyContinue)) { throw "Docker is required" }
if (-not (Get-Command aws -ErrorAction SilentlyContinue)) { throw "The AWS CLI is required" }
$account = aws sts get-caller-identity --query Account --output text
$repo = "traffic-manager-$stage"
$registry = "$account.dkr.ecr.$region.amazonaws.com"
aws ecr get-login-password --region $region | docker login --username AWS --password-stdin $registry
docker build -t "${repo}:latest" .
docker tag "${repo}:latest" "$registry/${repo}:latest"
docker push "$registry/${repo}:latest"
