#!/usr/bin/env bash
# Stops the server that scripts/whisper/start.sh started (by its pid file).
set -euo pipefail
DIR=${MEZZOFY_WHISPER_DIR:-/var/lib/mezzofy/whisper}
PID_FILE=${MEZZOFY_WHISPER_RUN_DIR:-$DIR/run}/whisper.pid
[[ -f $PID_FILE ]] || { echo "whisper not running (no $PID_FILE)"; exit 0; }
pid=$(cat "$PID_FILE")
if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "whisper stopped (pid $pid)"
fi
rm -f "$PID_FILE"
