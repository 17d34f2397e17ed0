#!/usr/bin/env bash
# First-time setup of a systemd host (Debian 12 / Ubuntu 22.04+), run as root
# from a checkout of this repository:
#
#   sudo scripts/setup.sh [--with-nginx DOMAIN]
#
#   --with-nginx DOMAIN   also install config/nginx/mezzofy.conf as an nginx
#                         site for DOMAIN (needs a Let's Encrypt certificate in
#                         /etc/letsencrypt/live/DOMAIN/)
#
# Installs OS packages, Rust (rustup, only if cargo is missing), creates the
# mezzofy system user, /opt/mezzofy, /etc/mezzofy, /var/lib/mezzofy, the
# PostgreSQL role + database, /etc/mezzofy/mezzofy.env (only if missing), then
# runs scripts/deploy.sh. Safe to run again: existing users, databases and the
# env file are left as they are.
set -euo pipefail

SVC_USER=mezzofy
DB_NAME=mezzofy
DB_USER=mezzofy
PREFIX=/opt/mezzofy
ETC_DIR=/etc/mezzofy
ENV_FILE=$ETC_DIR/mezzofy.env
DATA_DIR=/var/lib/mezzofy

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

BUILD_PACKAGES=(postgresql redis-server nginx build-essential pkg-config curl ca-certificates
    openssl rsync git)
RUNTIME_PACKAGES=(poppler-utils tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim
    tesseract-ocr-msa ffmpeg chromium fonts-dejavu-core fonts-wqy-microhei libheif-examples)

log() { printf '==> %s\n' "$*"; }
warn() { printf 'setup.sh: warning: %s\n' "$*" >&2; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

NGINX_DOMAIN=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --with-nginx)
            [[ $# -ge 2 && -n $2 ]] || die "--with-nginx needs a DOMAIN"
            NGINX_DOMAIN=$2
            shift
            ;;
        --with-nginx=*) NGINX_DOMAIN=${1#*=} ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done
if [[ -n $NGINX_DOMAIN && ! $NGINX_DOMAIN =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
    die "invalid domain: $NGINX_DOMAIN"
fi

[[ $EUID -eq 0 ]] || die "run as root (sudo $0)"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: Debian 12 / Ubuntu 22.04+ only"

# Hex secret of N random bytes.
gen_secret() {
    local bytes=${1:-32}
    if command -v openssl >/dev/null 2>&1; then
        openssl rand -hex "$bytes"
    else
        head -c "$bytes" /dev/urandom | od -An -v -tx1 | tr -d ' \n'
    fi
}

# ------------------------------------------------------------- packages ----
log "installing OS packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# Debian ships chromium as a .deb; Ubuntu only has the snap wrapper
# chromium-browser, which does not work under the units' sandboxing.
if ! apt-cache show chromium >/dev/null 2>&1; then
    warn "package 'chromium' is not available here (Ubuntu?); skipping it." \
        "Install a .deb chromium (e.g. Google Chrome) for headless rendering."
    RUNTIME_PACKAGES=("${RUNTIME_PACKAGES[@]/chromium/}")
fi
pkgs=()
for p in "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}"; do
    [[ -n $p ]] && pkgs+=("$p")
done
apt-get install -y --no-install-recommends "${pkgs[@]}"

systemctl enable --now postgresql.service redis-server.service

# ----------------------------------------------------------------- rust ----
# deploy.sh builds as the checkout's owner when they have cargo, else as root.
repo_owner_home=$(getent passwd "$(stat -c %U "$REPO_ROOT")" | cut -d: -f6)
if command -v cargo >/dev/null 2>&1 || [[ -x ${HOME:-/root}/.cargo/bin/cargo ]] ||
    [[ -n $repo_owner_home && -x $repo_owner_home/.cargo/bin/cargo ]]; then
    log "cargo already installed"
else
    log "installing Rust via rustup (cargo not found)"
    if ! curl --proto '=https' --tlsv1.2 -sSf --max-time 60 https://sh.rustup.rs |
        sh -s -- -y --profile minimal --default-toolchain stable; then
        die "could not install Rust via rustup (is this host offline?).
  Install a Rust toolchain (>= the workspace rust-version) by other means so
  that 'cargo' is on PATH, or build the binaries elsewhere, then re-run this script."
    fi
fi

# ------------------------------------------------------- user and dirs -----
if id -u "$SVC_USER" >/dev/null 2>&1; then
    log "user $SVC_USER exists"
else
    log "creating system user $SVC_USER"
    useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
        --shell /usr/sbin/nologin --comment "Mezzofy AI Assistant" "$SVC_USER"
fi
install -d -m 0755 -o root -g root "$PREFIX" "$PREFIX/bin"
install -d -m 0750 -o root -g "$SVC_USER" "$ETC_DIR"
install -d -m 0750 -o "$SVC_USER" -g "$SVC_USER" "$DATA_DIR"

# ----------------------------------------------------------- PostgreSQL ----
# cd / so psql does not complain about an unreadable working directory.
pg() { (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@"); }
sql_quote() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }

for _ in $(seq 1 30); do
    pg -tAc 'SELECT 1' >/dev/null 2>&1 && break
    sleep 1
done
pg -tAc 'SELECT 1' >/dev/null || die "PostgreSQL is not answering"
PG_PORT=$(pg -tAc 'SHOW port')

DB_PASSWORD=""
NEW_ENV=0
if [[ -f $ENV_FILE ]]; then
    log "$ENV_FILE exists; keeping it"
else
    NEW_ENV=1
    DB_PASSWORD=$(gen_secret 24)
fi

role_exists=$(pg -tAc "SELECT 1 FROM pg_roles WHERE rolname = $(sql_quote "$DB_USER")")
if [[ $role_exists != 1 ]]; then
    if [[ $NEW_ENV -eq 0 ]]; then
        # Recreate the role with the password the existing env file uses.
        DB_PASSWORD=$(sed -n 's|^[[:space:]]*DATABASE_URL="\{0,1\}postgres[a-z]*://[^:/@]*:\([^@]*\)@.*|\1|p' "$ENV_FILE" | head -n1)
        [[ -n $DB_PASSWORD ]] || die "role $DB_USER missing and no password found in $ENV_FILE"
    fi
    log "creating PostgreSQL role $DB_USER"
    printf 'CREATE ROLE %s LOGIN PASSWORD %s;\n' "$DB_USER" "$(sql_quote "$DB_PASSWORD")" | pg
elif [[ $NEW_ENV -eq 1 ]]; then
    # Role exists but its password is unknown: reset it to match the new env file.
    log "resetting password of existing PostgreSQL role $DB_USER"
    printf 'ALTER ROLE %s WITH LOGIN PASSWORD %s;\n' "$DB_USER" "$(sql_quote "$DB_PASSWORD")" | pg
else
    log "PostgreSQL role $DB_USER exists"
fi

db_exists=$(pg -tAc "SELECT 1 FROM pg_database WHERE datname = $(sql_quote "$DB_NAME")")
if [[ $db_exists != 1 ]]; then
    log "creating database $DB_NAME"
    (cd / && runuser -u postgres -- createdb --owner="$DB_USER" "$DB_NAME")
else
    log "database $DB_NAME exists"
fi

# ------------------------------------------------------------- env file ----
if [[ $NEW_ENV -eq 1 ]]; then
    log "writing $ENV_FILE"
    tmp=$(mktemp "$ETC_DIR/.mezzofy.env.XXXXXX")
    trap 'rm -f "$tmp"' EXIT
    cat >"$tmp" <<EOF
# Generated by scripts/setup.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ).
# See systemd/mezzofy.env.example in the repository for every variable.
DATABASE_URL=postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/$DB_NAME
REDIS_URL=redis://127.0.0.1:6379/0
JWT_SECRET=$(gen_secret 32)
MEZZOFY_ENV=production
API_BIND=127.0.0.1:8000
MEZZOFY_DATA_DIR=$DATA_DIR
RUST_LOG=info

# Optional integrations:
#ANTHROPIC_API_KEY=
#KIMI_API_KEY=
#MS365_TENANT_ID=
#MS365_CLIENT_ID=
#MS365_CLIENT_SECRET=
#MS_TEAMS_TEAM_ID=
#MS_TEAMS_SENDER_USER_ID=
#LINKEDIN_COOKIE=
#WEBHOOK_SECRET=
EOF
    chown root:"$SVC_USER" "$tmp"
    chmod 0640 "$tmp"
    mv -f "$tmp" "$ENV_FILE"
    trap - EXIT
fi
# Enforce ownership/mode on every run.
chown root:"$SVC_USER" "$ENV_FILE"
chmod 0640 "$ENV_FILE"

# --------------------------------------------------------------- deploy ----
log "running scripts/deploy.sh"
"$REPO_ROOT/scripts/deploy.sh"

# ---------------------------------------------------------------- nginx ----
if [[ -n $NGINX_DOMAIN ]]; then
    log "installing nginx site for $NGINX_DOMAIN"
    install -d -m 0755 /etc/nginx/sites-available /etc/nginx/sites-enabled /var/www/certbot
    grep -q 'sites-enabled' /etc/nginx/nginx.conf ||
        warn "/etc/nginx/nginx.conf does not include sites-enabled/*; add it"
    site=/etc/nginx/sites-available/mezzofy.conf
    acme_site=/etc/nginx/sites-available/mezzofy-acme.conf
    tmp_site=$(mktemp)
    sed -e "s/api\.mezzofy\.com/$NGINX_DOMAIN/g" \
        -e 's/^\([[:space:]]*\)server api:8000;/\1server 127.0.0.1:8000;/' \
        "$REPO_ROOT/config/nginx/mezzofy.conf" >"$tmp_site"
    install -m 0644 -o root -g root "$tmp_site" "$site"
    rm -f "$tmp_site"

    if [[ -f /etc/letsencrypt/live/$NGINX_DOMAIN/fullchain.pem ]]; then
        rm -f /etc/nginx/sites-enabled/mezzofy-acme.conf
        ln -sfn "$site" /etc/nginx/sites-enabled/mezzofy.conf
        nginx -t
        systemctl enable nginx.service >/dev/null
        systemctl reload-or-restart nginx.service
        log "nginx serving https://$NGINX_DOMAIN/"
    else
        # No certificate yet: serve only the ACME webroot on :80 so certbot can
        # issue (and later renew) with the same webroot the full site uses.
        cat >"$acme_site" <<EOF
# Temporary (scripts/setup.sh): ACME http-01 only, until a certificate exists.
server {
    listen 80;
    listen [::]:80;
    server_name $NGINX_DOMAIN;
    location ^~ /.well-known/acme-challenge/ {
        root /var/www/certbot;
        default_type "text/plain";
    }
    location / {
        return 404;
    }
}
EOF
        rm -f /etc/nginx/sites-enabled/mezzofy.conf
        ln -sfn "$acme_site" /etc/nginx/sites-enabled/mezzofy-acme.conf
        nginx -t
        systemctl enable nginx.service >/dev/null
        systemctl reload-or-restart nginx.service
        warn "no certificate in /etc/letsencrypt/live/$NGINX_DOMAIN/ yet; only the ACME webroot is served.
  Obtain one, then re-run this script to enable HTTPS:
    apt-get install certbot
    certbot certonly --webroot -w /var/www/certbot -d $NGINX_DOMAIN
    $0 --with-nginx $NGINX_DOMAIN"
    fi
fi

log "setup complete"
