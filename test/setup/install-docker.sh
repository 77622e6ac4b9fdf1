#!/usr/bin/env bash
# The deploy test (test/deploy) builds and runs the image: Docker, docker-compose and debootstrap from Debian.
exec "$(dirname "$0")/../../deploy/docker/ensure-docker-tools.sh"
