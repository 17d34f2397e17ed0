#!/usr/bin/env bash
# Word error rate and real-time factor of the Whisper server per model and language, on
# speech synthesized with espeak-ng (English, Malay, Mandarin). Needs a running server
# (scripts/whisper/start.sh), espeak-ng, ffmpeg and cargo.
#   scripts/whisper/measure.sh [BASE_URL]      (default $MEZZOFY_WHISPER_URL or http://127.0.0.1:8178)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
URL=${1:-${MEZZOFY_WHISPER_URL:-http://127.0.0.1:8178}}
command -v espeak-ng >/dev/null || { echo "error: espeak-ng missing (apt-get install espeak-ng)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "error: ffmpeg missing (apt-get install ffmpeg)" >&2; exit 1; }
curl -fsS --max-time 5 "$URL/health" >/dev/null || { echo "error: no Whisper server at $URL (scripts/whisper/start.sh)" >&2; exit 1; }
exec cargo run --quiet -p media --example whisper_measure -- "$URL"
