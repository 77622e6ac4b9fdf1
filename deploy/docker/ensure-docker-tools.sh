#!/usr/bin/env bash
# Installs what the image build and the deploy test drive for real, from Debian's packages, when missing:
# docker.io (dockerd 20.10 and its CLI at /usr/bin/docker), docker-compose (Debian bookworm ships v1, 1.29,
# the Python one: it reads the same compose.yaml) and debootstrap (the base image, where no registry answers).
# Idempotent and quick when everything is there.
set -euo pipefail
missing=()
[ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} (Debian packages)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
  || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
