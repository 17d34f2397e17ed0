#!/usr/bin/env bash
# Starts the whole Mezzofy system on this machine for development or evaluation:
#   PostgreSQL and Redis (installed/started if missing), a release build, migrations,
#   an admin and one demo user per department, then mezzofy-api, mezzofy-worker and
#   mezzofy-scheduler in the background (logs and pids under run/), plus the local
#   speech-to-text server (scripts/whisper/) on 127.0.0.1:8178.
# Usage: ./scripts/start.sh        Stop with ./scripts/stop.sh
# Honours DATABASE_URL, REDIS_URL, JWT_SECRET, API_BIND and the rest (see README.md);
# without DATABASE_URL it creates a local role and database "mezzofy".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

ensure_services
ensure_rust
ensure_document_tools
mkdir -p "$RUN_DIR/logs" data
ensure_whisper

# Development secrets, generated once and kept out of git.
SECRETS="$RUN_DIR/dev.env"
if [[ ! -f $SECRETS ]]; then
    umask 077
    {
        echo "MEZZOFY_DB_PASSWORD=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        echo "JWT_SECRET_DEV=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    } >"$SECRETS"
fi
# shellcheck disable=SC1090
source "$SECRETS"

if [[ -z ${DATABASE_URL:-} ]]; then
    log "preparing database mezzofy"
    psql_admin -d postgres <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mezzofy') THEN
    CREATE ROLE mezzofy LOGIN PASSWORD '$MEZZOFY_DB_PASSWORD';
  ELSE
    ALTER ROLE mezzofy LOGIN PASSWORD '$MEZZOFY_DB_PASSWORD';
  END IF;
END \$\$;
SQL
    if [[ -z $(psql_admin -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'mezzofy'") ]]; then
        psql_admin -d postgres -c "CREATE DATABASE mezzofy OWNER mezzofy"
    fi
    export DATABASE_URL="postgres://mezzofy:$MEZZOFY_DB_PASSWORD@127.0.0.1:5432/mezzofy"
fi
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export JWT_SECRET=${JWT_SECRET:-$JWT_SECRET_DEV}
export API_BIND=${API_BIND:-127.0.0.1:8000}
export MEZZOFY_DATA_DIR=${MEZZOFY_DATA_DIR:-$REPO_ROOT/data}
export MEZZOFY_ENV=${MEZZOFY_ENV:-development}

log "building (release; the first build takes several minutes)"
cargo build --release --locked -p api -p worker -p scheduler -p cli
BIN="$CARGO_TARGET_DIR/release"

"$(dirname "${BASH_SOURCE[0]}")/stop.sh" --quiet || true

log "migrating"
"$BIN/mezzofy" migrate
log "seeding"
seed_args=()
[[ $MEZZOFY_ENV != production ]] && seed_args=(--demo)
"$BIN/mezzofy" seed "${seed_args[@]}" | tee "$RUN_DIR/seed.txt"

for svc in api worker scheduler; do
    nohup "$BIN/mezzofy-$svc" >>"$RUN_DIR/logs/$svc.log" 2>&1 &
    echo $! >"$RUN_DIR/$svc.pid"
done

url="http://$API_BIND"
if ! wait_for "curl -sf $url/health" 60; then
    tail -n 20 "$RUN_DIR/logs/api.log" >&2 || true
    die "the api did not become healthy; see $RUN_DIR/logs/"
fi
for svc in worker scheduler; do
    kill -0 "$(cat "$RUN_DIR/$svc.pid")" 2>/dev/null || { tail -n 20 "$RUN_DIR/logs/$svc.log" >&2; die "mezzofy-$svc exited; see $RUN_DIR/logs/$svc.log"; }
done

demo_password=$(sed -n 's/^demo users. password: //p' "$RUN_DIR/seed.txt")
cat <<MSG

Mezzofy is running.
  API:      $url            (health: $url/health)
  API docs: $url/docs/
  Live:     ws://$API_BIND/chat/ws?token=<access token>   Speech-to-text: http://127.0.0.1:${MEZZOFY_WHISPER_PORT:-8178}
  Logs:     $RUN_DIR/logs/   Stop: ./scripts/stop.sh

Demo logins (password: ${demo_password:-see $RUN_DIR/seed.txt}):
  admin@mezzofy.com            admin            management
  ceo@mezzofy.com              executive        management
  ops@mezzofy.com              executive        operations
  cfo@mezzofy.com              finance_manager  finance
  sales.manager@mezzofy.com    sales_manager    sales
  marketing@mezzofy.com        marketing_manager marketing
  support-manager@mezzofy.com  support_manager  support
  (and analyst@, sales@, support@mezzofy.com)

Try:
  curl -s $url/auth/login -H 'content-type: application/json' \\
       -d '{"email":"admin@mezzofy.com","password":"${demo_password:-<password>}"}'
MSG
