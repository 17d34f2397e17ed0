#!/usr/bin/env bash
# Enforces ARCHITECTURE.md's dependency rules with `cargo tree -i`: which workspace crates
# may depend directly on actix, apalis and sea-orm, and that `domain` does no IO.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

root=$(pwd)
# Workspace crates (those with a path inside this repository) that depend directly on $1.
direct_dependents() {
    cargo tree --workspace --locked -e normal,build -i "$1" --depth 1 --prefix none 2>/dev/null \
        | sed -n '2,$p' | grep -F "($root/" | awk '{print $1}' | sort -u
}

fail=0
check() { # crate allowed...
    local dep=$1; shift
    local allowed=" $* " found
    for found in $(direct_dependents "$dep"); do
        if [[ $allowed != *" $found "* ]]; then
            echo "dependency rule broken: '$found' depends on '$dep' (allowed: $*)" >&2
            fail=1
        fi
    done
}

check actix-web api
check actix-ws api
check sea-orm store
check sea-orm-migration migrations
check apalis jobs worker
check apalis-redis jobs worker

# domain: pure types and rules, no IO crates.
for io in tokio reqwest redis sea-orm actix-web; do
    if cargo tree --locked -p domain -e normal --prefix none 2>/dev/null | awk '{print $1}' | grep -qx "$io"; then
        echo "dependency rule broken: domain depends on $io (domain does no IO)" >&2
        fail=1
    fi
done

# No crate called common or utils.
if ls -d crates/common crates/utils 2>/dev/null; then
    echo "no crate may be called common or utils" >&2
    fail=1
fi

[[ $fail -eq 0 ]] && echo "dependency rules hold"
exit $fail
