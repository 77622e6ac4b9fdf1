#!/usr/bin/env bash
# Debian's Chromium, which the transfer log's browser tests drive through
# playwright-core (never a browser downloaded by playwright). Idempotent and
# quick when it is already there; the tests fail with a clear message, never
# skip, when it is missing.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing chromium"
  # Fonts too: without any, the page's text is drawn as boxes in the screenshots.
  pkgs=(chromium fonts-dejavu-core)
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null; }
fi
"$CHROMIUM" --version >/dev/null
