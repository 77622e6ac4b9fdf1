#!/usr/bin/env bash
# Debian tools the log-tailer integration tests drive for real: vsftpd (writes a
# real xferlog), logrotate (rotates it), curl (the FTP client). Idempotent and
# quick when everything is already there. Also creates the local FTP user the
# tests log in as (vsftpd refuses users without a valid shell in /etc/shells).
set -euo pipefail

FTP_USER=terraftp
FTP_PASS=terraftp

need=()
command -v vsftpd >/dev/null 2>&1 || [ -x /usr/sbin/vsftpd ] || need+=(vsftpd)
command -v logrotate >/dev/null 2>&1 || [ -x /usr/sbin/logrotate ] || need+=(logrotate)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing ${need[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null; }
fi

# vsftpd's privilege separation needs this empty, root-owned directory.
[ -d /var/run/vsftpd/empty ] || { mkdir -p /var/run/vsftpd/empty 2>/dev/null || true; }

# The upload user: a local account with a password and a shell listed in /etc/shells.
if [ "$(id -u)" -eq 0 ] && ! id "$FTP_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$FTP_USER"
  echo "$FTP_USER:$FTP_PASS" | chpasswd
fi
true
