#!/usr/bin/env bash
# Builds and runs one benchmark workload:
#   bench/run.sh NAME [--duration SECS] [--warmup SECS] [--connections N] [--jobs N] [--concurrency N]
# Result lines (key=value) go to stdout; everything else goes to stderr.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    cat >&2 <<'USAGE'
usage: bench/run.sh <workload> [--duration SECS] [--warmup SECS] [--connections N] [--jobs N] [--concurrency N]
defaults: --duration 10 --warmup 2 --connections 64 (http), 1000 (ws); --jobs 20000 --concurrency 4 (queue)

workloads:
  chat       POST /chat/send against a fake LLM answering at once: turns/s, p50/p99, added latency
  http       HTTP baseline (404, no IO) vs /health, /auth/me and /auth/login on one api worker
  queue      Redis LPUSH/RPOP ceiling, then enqueue latency of N jobs and their drain by one worker
  webhooks   signed POST /webhooks/mezzofy (5% re-deliveries) vs a 404 baseline, then every event processed once
  ws         1,000 sockets (--connections) on one mezzofy-api process: RSS per socket, fan-out p50/p99 vs raw Redis

Results are key=value lines on stdout; see bench/README.md.
USAGE
}

if [[ $# -eq 0 || $1 == -h || $1 == --help ]]; then
    usage
    [[ $# -eq 0 ]] && exit 2
    exit 0
fi

# shellcheck source=../scripts/lib.sh
source "$REPO/scripts/lib.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/mezzofy-target}

# lib.sh logs to stdout; keep stdout for results only.
ensure_rust >&2
ensure_services >&2

log "building mezzofy-bench (release)" >&2
(cd "$REPO" && cargo build --release -p bench) >&2

log "running workload $1" >&2
cd "$REPO"
exec "$CARGO_TARGET_DIR/release/mezzofy-bench" "$@"
