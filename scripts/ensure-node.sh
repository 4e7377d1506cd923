#!/usr/bin/env bash
# Prints the folder of a Node.js 24 `node` binary, installing one from the npm registry (the package
# `node@24` into NODE24_HOME) when the machine's own node is another version. NODE24_HOME defaults to
# /opt/app-orquestador/node24 for root (reachable by the unprivileged user the deployment test runs the service
# as) and ~/.cache/app-orquestador/node24 otherwise.
# Usage, in a script: node_bin="$(bash scripts/ensure-node.sh)"; export PATH="$node_bin:$PATH"
set -euo pipefail
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)" = 24 ]; then
  dirname "$(command -v node)"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then default_home=/opt/app-orquestador/node24; else default_home="$HOME/.cache/app-orquestador/node24"; fi
home="${NODE24_HOME:-$default_home}"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) arch="$(uname -m)" ;;
esac
platform="$home/node_modules/node/node_modules/node-linux-$arch"
if [ ! -x "$platform/bin/node" ] || [ "$("$platform/bin/node" -p 'process.versions.node.split(".")[0]')" != 24 ]; then
  echo "installing Node.js 24 from the npm registry into $home" >&2
  mkdir -p "$home"
  npm install --prefix "$home" --no-audit --no-fund --no-save --loglevel=error node@24 >&2
fi
echo "$platform/bin"
