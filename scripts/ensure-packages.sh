#!/usr/bin/env bash
# Installs, with apt, each named Debian package whose command is missing (rclone, chromium, python3, openssl, postgresql);
# where apt-get is not available, says how to get them. Usage: bash scripts/ensure-packages.sh rclone [chromium]
set -euo pipefail
missing=()
for package in "$@"; do
  command="$package"
  if [ "$package" = rclone ]; then command="${RCLONE_BIN:-rclone}"; fi
  if [ "$package" = postgresql ]; then command=pg_ctlcluster; fi
  command -v "$command" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing with apt-get: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "missing: ${missing[*]} and apt-get is not available. Install rclone (https://rclone.org/install/) and," \
    "for the browser tests, Chromium (set CHROMIUM_PATH if it is not /usr/bin/chromium); then run this again." >&2
  exit 1
fi
