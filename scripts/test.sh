#!/usr/bin/env bash
# Runs every check CI runs: services up, formatting, clippy with -D warnings, the crate
# dependency rules, the script syntax, and the whole test suite (real PostgreSQL and Redis).
# Usage: ./scripts/test.sh [extra nextest arguments]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
start=$(date +%s)

ensure_services
ensure_rust
ensure_document_tools
if ! cargo nextest --version >/dev/null 2>&1; then
    log "installing cargo-nextest"
    cargo install cargo-nextest --locked
fi

log "cleaning up after earlier test runs"
for db in $(psql_admin -d postgres -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'mz\_t\_%' OR datname LIKE 'mz\_tplbuild\_%'"); do
    # Without FORCE: a database another run is still using is left alone.
    psql_admin -d postgres -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
done
redis-cli -h 127.0.0.1 --scan --pattern 'mzt:*' | xargs -r -n 500 redis-cli -h 127.0.0.1 unlink >/dev/null
# apalis also records every queue it sees in one global, unprefixed sorted set.
redis-cli -h 127.0.0.1 zrange core:apalis:queues:list 0 -1 | grep '^mzt:' \
    | xargs -r -n 500 redis-cli -h 127.0.0.1 zrem core:apalis:queues:list >/dev/null || true

log "checking scripts"
for f in scripts/*.sh .ci/run; do bash -n "$f"; done
if command -v shellcheck >/dev/null 2>&1; then shellcheck -x scripts/*.sh; fi

if command -v systemd-analyze >/dev/null 2>&1; then
    log "systemd-analyze verify (binary paths replaced: they exist only on an installed host)"
    units=$(mktemp -d)
    for u in systemd/*.service; do
        sed 's|^ExecStart=.*|ExecStart=/bin/true|' "$u" >"$units/$(basename "$u")"
    done
    if ! out=$(systemd-analyze verify "$units"/*.service 2>&1) || [[ -n $out ]]; then
        printf '%s\n' "$out" >&2
        rm -rf "$units"
        die "systemd units do not verify"
    fi
    rm -rf "$units"
fi

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "crate dependency rules"
scripts/check-deps.sh

log "tests"
cargo nextest run --workspace --locked --no-fail-fast "$@"

log "all checks passed in $(( $(date +%s) - start )) s"
