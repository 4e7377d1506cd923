#!/usr/bin/env bash
# Starts the local PostgreSQL the cluster tests use (127.0.0.1:5432, user postgres without password, database
# `test`) when it is not running, and lets the tests in from loopback. Each test file creates scratch databases.
set -euo pipefail
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if ! pg_isready -q -h 127.0.0.1; then
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
  # A fresh install asks loopback clients for a password: the tests' throwaway server trusts them instead.
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  $sudo sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main reload
fi
psql -h 127.0.0.1 -U postgres -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test'
