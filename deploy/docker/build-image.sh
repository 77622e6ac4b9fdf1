#!/usr/bin/env bash
# Builds the production image (deploy/docker/Dockerfile) from the repository root; prints its name.
#   DOCKER_HOST=... deploy/docker/build-image.sh [tag]     (default terra-transfer:latest)
# BASE_IMAGE: the image to build on; default `local`, the Debian bookworm + Node 24 base made by
# base-image.sh (no registry needed); BASE_IMAGE=node:24-bookworm-slim where a registry answers.
set -euo pipefail
cd "$(dirname "$0")/../.."
TAG=${1:-terra-transfer:latest}
DOCKER=${DOCKER:-/usr/bin/docker}
BASE=${BASE_IMAGE:-local}
[ "$BASE" = local ] && BASE=$(deploy/docker/base-image.sh)
# Local CAs (a TLS-intercepting proxy's), for the build stage's registry downloads only.
CA=""
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then CA=$(cat /usr/local/share/ca-certificates/*.crt); fi
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
VERSION=$(node -p "require('./package.json').version ?? '0.1.0'" 2>/dev/null || echo 0.1.0)
# The engine's network is the host's (no bridge on this machine); --network host works on any engine.
"$DOCKER" build -q --network host -f deploy/docker/Dockerfile \
  --build-arg BASE_IMAGE="$BASE" --build-arg EXTRA_CA_CERTS="$CA" \
  --build-arg VERSION="$VERSION" --build-arg REVISION="$REV" \
  --build-arg CREATED="$(git log -1 --format=%cI 2>/dev/null || echo unknown)" \
  -t "$TAG" . >&2
echo "$TAG"
