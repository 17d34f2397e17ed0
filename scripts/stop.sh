#!/usr/bin/env bash
# Stops what ./scripts/start.sh started (SIGTERM, then SIGKILL after the grace period).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
quiet=0
[[ ${1:-} == --quiet ]] && quiet=1

for svc in api scheduler worker; do
    pidfile="$RUN_DIR/$svc.pid"
    [[ -f $pidfile ]] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        [[ $quiet -eq 1 ]] || log "stopping mezzofy-$svc (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_for "! kill -0 $pid" 40; then
            warn "mezzofy-$svc did not stop in 40 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
done
if [[ $quiet -eq 0 && -f $RUN_DIR/whisper.pid ]]; then
    MEZZOFY_WHISPER_RUN_DIR="$RUN_DIR" "$(dirname "${BASH_SOURCE[0]}")/whisper/stop.sh" || true
fi
[[ $quiet -eq 1 ]] || log "stopped"
