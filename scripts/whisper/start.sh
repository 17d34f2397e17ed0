#!/usr/bin/env bash
# Starts the Whisper speech-to-text server (scripts/whisper/server.py) in the background on
# 127.0.0.1:${MEZZOFY_WHISPER_PORT:-8178} and waits until GET /health answers.
# Run scripts/whisper/install.sh first. Stop with scripts/whisper/stop.sh.
# Env: MEZZOFY_WHISPER_DIR (/var/lib/mezzofy/whisper), MEZZOFY_WHISPER_PORT (8178),
#      MEZZOFY_WHISPER_RUN_DIR (pid + log; default $MEZZOFY_WHISPER_DIR/run),
#      MEZZOFY_WHISPER_MODELS, MEZZOFY_WHISPER_DEFAULT_MODEL, MEZZOFY_WHISPER_THREADS (see server.py).
# Prints the base URL to use as MEZZOFY_WHISPER_URL.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export MEZZOFY_WHISPER_DIR=${MEZZOFY_WHISPER_DIR:-/var/lib/mezzofy/whisper}
export MEZZOFY_WHISPER_PORT=${MEZZOFY_WHISPER_PORT:-8178}
RUN=${MEZZOFY_WHISPER_RUN_DIR:-$MEZZOFY_WHISPER_DIR/run}
PID_FILE=$RUN/whisper.pid
LOG=$RUN/whisper.log
URL="http://127.0.0.1:$MEZZOFY_WHISPER_PORT"
PY=$MEZZOFY_WHISPER_DIR/venv/bin/python

healthy() { curl -fsS --max-time 2 "$URL/health" >/dev/null 2>&1; }

[[ -x $PY ]] || { echo "error: $PY missing: run scripts/whisper/install.sh first" >&2; exit 1; }
mkdir -p "$RUN"
if [[ -f $PID_FILE ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    if healthy; then echo "whisper already running (pid $(cat "$PID_FILE")) at $URL"; exit 0; fi
    echo "error: pid $(cat "$PID_FILE") is alive but $URL/health does not answer; see $LOG" >&2
    exit 1
fi
if healthy; then
    echo "error: something else already answers on $URL" >&2
    exit 1
fi

nohup "$PY" "$HERE/server.py" >>"$LOG" 2>&1 </dev/null &
echo $! >"$PID_FILE"
# Loading both models takes a few seconds on 2 cores.
for _ in $(seq 1 300); do
    if healthy; then echo "whisper started (pid $(cat "$PID_FILE")) at $URL; log $LOG"; exit 0; fi
    kill -0 "$(cat "$PID_FILE")" 2>/dev/null || { echo "error: server exited; last log lines:" >&2; tail -n 20 "$LOG" >&2; rm -f "$PID_FILE"; exit 1; }
    sleep 0.2
done
echo "error: $URL/health did not answer within 60 s; see $LOG" >&2
exit 1
