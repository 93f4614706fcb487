#!/usr/bin/env bash
# Runs every test of the workspace against real services, on a fresh machine too:
# installs the test tools that are missing (docker-compose to validate the compose file,
# promtool to check the Prometheus config), starts Kafka and ClickHouse on loopback
# (scripts/services.sh), then runs `cargo test --workspace` once (unit and integration
# tests in one pass). Services are left running for the next run; stop them with
# `scripts/services.sh stop`.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test tools: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

scripts/services.sh start
eval "$(scripts/services.sh env)"
cargo test --workspace "$@"
