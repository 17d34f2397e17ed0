#!/usr/bin/env bash
# Update an installed systemd host from the current checkout.
#
#   sudo scripts/deploy.sh [--pull]
#
#   --pull   git pull --ff-only before building
#
# Steps: build (cargo build --release --locked) -> install the four binaries
# into /opt/mezzofy/bin atomically -> sync config/ (never config.yaml if one is
# installed) and knowledge/ -> `mezzofy migrate` as the mezzofy user -> install
# the systemd units, restart scheduler, worker, api -> wait for /health = 200.
#
# Expects scripts/setup.sh to have run once (user mezzofy, /etc/mezzofy/mezzofy.env).
# Environment overrides: CARGO_TARGET_DIR, HEALTH_URL (default
# http://127.0.0.1:8000/health), HEALTH_TIMEOUT (seconds, default 30).
set -euo pipefail

PREFIX=/opt/mezzofy
BIN_DIR=$PREFIX/bin
ENV_FILE=/etc/mezzofy/mezzofy.env
UNIT_DIR=/etc/systemd/system
SVC_USER=mezzofy
BINARIES=(mezzofy-api mezzofy-worker mezzofy-scheduler mezzofy)
# Restart order: producers of work first, the HTTP front last.
UNITS=(mezzofy-scheduler mezzofy-worker mezzofy-api)
HEALTH_URL=${HEALTH_URL:-http://127.0.0.1:8000/health}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-30}

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '==> %s\n' "$*"; }
die() { printf 'deploy.sh: error: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

PULL=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --pull) PULL=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done

[[ $EUID -eq 0 ]] || die "run as root (sudo $0)"
id -u "$SVC_USER" >/dev/null 2>&1 || die "user $SVC_USER missing: run scripts/setup.sh first"
[[ -r $ENV_FILE ]] || die "$ENV_FILE missing: run scripts/setup.sh first"
command -v curl >/dev/null 2>&1 || die "curl is required (apt-get install curl)"

# The checkout usually belongs to a regular user: run git and cargo as that
# user so root does not leave root-owned files in target/ or .git/.
REPO_OWNER=$(stat -c %U "$REPO_ROOT")
as_owner() {
    if [[ $REPO_OWNER == "$(id -un)" ]]; then
        "$@"
    else
        local home
        home=$(getent passwd "$REPO_OWNER" | cut -d: -f6)
        runuser -u "$REPO_OWNER" -- env HOME="$home" PATH="$home/.cargo/bin:$PATH" "$@"
    fi
}

# ------------------------------------------------------------------ pull ---
if [[ $PULL -eq 1 ]]; then
    log "git pull --ff-only (as $REPO_OWNER)"
    as_owner git -C "$REPO_ROOT" pull --ff-only
fi

# ----------------------------------------------------------------- build ---
BUILD=()
if [[ $REPO_OWNER != "$(id -un)" ]] && as_owner sh -c 'command -v cargo' >/dev/null 2>&1; then
    BUILD=(as_owner)
    log "cargo build --release --locked (as $REPO_OWNER)"
else
    # Build as root: make a rustup install in root's home visible.
    if ! command -v cargo >/dev/null 2>&1 && [[ -x ${HOME:-/root}/.cargo/bin/cargo ]]; then
        PATH="${HOME:-/root}/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust via rustup, or run scripts/setup.sh)"
    log "cargo build --release --locked"
fi
(cd "$REPO_ROOT" && "${BUILD[@]}" cargo build --release --locked -p api -p worker -p scheduler -p cli)

TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
[[ $TARGET_DIR == /* ]] || TARGET_DIR=$REPO_ROOT/$TARGET_DIR
for b in "${BINARIES[@]}"; do
    [[ -x $TARGET_DIR/release/$b ]] || die "built binary not found: $TARGET_DIR/release/$b"
done

# -------------------------------------------------------------- install ----
log "installing binaries into $BIN_DIR"
install -d -m 0755 -o root -g root "$PREFIX" "$BIN_DIR"
for b in "${BINARIES[@]}"; do
    # Same directory => rename(2) is atomic; running processes keep the old inode.
    install -m 0755 -o root -g root "$TARGET_DIR/release/$b" "$BIN_DIR/.$b.new"
    mv -f "$BIN_DIR/.$b.new" "$BIN_DIR/$b"
done

log "syncing config/ and knowledge/ into $PREFIX"
install -d -m 0750 -o root -g "$SVC_USER" "$PREFIX/config" "$PREFIX/knowledge"
if command -v rsync >/dev/null 2>&1; then
    if [[ -d $REPO_ROOT/config ]]; then
        # No --delete: keep files an admin added on the host. config.yaml is
        # host-specific and never overwritten.
        rsync -rlpt --chown="root:$SVC_USER" --chmod=D0750,F0640 \
            --exclude=/config.yaml "$REPO_ROOT/config/" "$PREFIX/config/"
    fi
    if [[ -d $REPO_ROOT/knowledge ]]; then
        rsync -rlpt --delete --chown="root:$SVC_USER" --chmod=D0750,F0640 \
            "$REPO_ROOT/knowledge/" "$PREFIX/knowledge/"
    fi
else
    if [[ -d $REPO_ROOT/config ]]; then
        (cd "$REPO_ROOT/config" && find . -mindepth 1 ! -path ./config.yaml -print0) |
            while IFS= read -r -d '' f; do
                if [[ -d $REPO_ROOT/config/$f ]]; then
                    install -d -m 0750 -o root -g "$SVC_USER" "$PREFIX/config/$f"
                else
                    install -D -m 0640 -o root -g "$SVC_USER" "$REPO_ROOT/config/$f" "$PREFIX/config/$f"
                fi
            done
    fi
    if [[ -d $REPO_ROOT/knowledge ]]; then
        cp -R "$REPO_ROOT/knowledge/." "$PREFIX/knowledge/"
        chown -R "root:$SVC_USER" "$PREFIX/knowledge"
        find "$PREFIX/knowledge" -type d -exec chmod 0750 {} +
        find "$PREFIX/knowledge" -type f -exec chmod 0640 {} +
    fi
fi
# First install only: seed config.yaml from the checkout if the host has none.
if [[ ! -e $PREFIX/config/config.yaml && -f $REPO_ROOT/config/config.yaml ]]; then
    log "installing initial $PREFIX/config/config.yaml"
    install -m 0640 -o root -g "$SVC_USER" "$REPO_ROOT/config/config.yaml" "$PREFIX/config/config.yaml"
fi

# -------------------------------------------------------------- migrate ----
log "mezzofy migrate (as $SVC_USER)"
# shellcheck disable=SC2016 # expanded by the inner shell, not here
runuser -u "$SVC_USER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/var/lib/mezzofy \
    ENV_FILE="$ENV_FILE" PREFIX="$PREFIX" \
    bash -c 'set -euo pipefail; set -a; . "$ENV_FILE"; set +a; cd "$PREFIX"; exec "$PREFIX/bin/mezzofy" migrate'

# ---------------------------------------------------------------- units ----
log "installing systemd units"
for u in "${UNITS[@]}"; do
    install -m 0644 -o root -g root "$REPO_ROOT/systemd/$u.service" "$UNIT_DIR/$u.service"
done
systemctl daemon-reload
systemctl enable "${UNITS[@]/%/.service}" >/dev/null
for u in "${UNITS[@]}"; do
    log "restarting $u"
    systemctl restart "$u.service"
done

# --------------------------------------------------------------- health ----
log "waiting up to ${HEALTH_TIMEOUT}s for $HEALTH_URL"
deadline=$((SECONDS + HEALTH_TIMEOUT))
code=000
while ((SECONDS < deadline)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$HEALTH_URL" || true)
    if [[ $code == 200 ]]; then
        log "healthy ($HEALTH_URL -> 200); deployed $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo 'working tree')"
        exit 0
    fi
    sleep 1
done

printf 'deploy.sh: error: %s did not answer 200 within %ss (last status: %s)\n' \
    "$HEALTH_URL" "$HEALTH_TIMEOUT" "$code" >&2
systemctl --no-pager --lines=0 status "${UNITS[@]/%/.service}" >&2 || true
journalctl --no-pager -n 50 -u mezzofy-api.service >&2 || true
exit 1
