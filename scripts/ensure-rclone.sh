#!/usr/bin/env bash
# Installs rclone with apt when it is missing (Debian/Ubuntu); elsewhere says how to get it.
set -euo pipefail
if command -v "${RCLONE_BIN:-rclone}" >/dev/null 2>&1; then exit 0; fi
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "rclone not found: installing it with apt-get" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq rclone >/dev/null
else
  echo "rclone not found and apt-get is not available: install rclone (https://rclone.org/install/)" \
    "or set RCLONE_BIN to its path, then run this command again." >&2
  exit 1
fi
