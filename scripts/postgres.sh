# Makes a PostgreSQL available and exports DATABASE_URL. When DATABASE_URL is already set
# it is used as is; otherwise the machine's Debian PostgreSQL cluster is installed (if
# missing) and started, with a `nudge` role that may create the per-test databases.
# Source it after lib.sh.

ensure_postgres() {
  if [[ -n "${DATABASE_URL:-}" ]]; then return 0; fi
  if ! command -v pg_lsclusters >/dev/null 2>&1; then
    [[ $(id -u) -eq 0 ]] || die "PostgreSQL is not installed: install it or set DATABASE_URL"
    log "installing PostgreSQL from Debian's packages"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
  local version cluster port status
  read -r version cluster port status _ < <(pg_lsclusters --no-header | head -1)
  [[ -n "${version:-}" ]] || die "no PostgreSQL cluster found (pg_lsclusters is empty)"
  if [[ "$status" != online* ]]; then
    log "starting PostgreSQL $version/$cluster on port $port"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start >&2
  fi
  local sql_role="DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nudge') THEN
      CREATE ROLE nudge LOGIN PASSWORD 'nudge' CREATEDB; END IF; END \$\$;"
  as_postgres psql -q -p "$port" -c "$sql_role" >&2
  if ! as_postgres psql -p "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = 'nudge'" | grep -q 1; then
    as_postgres createdb -p "$port" -O nudge nudge >&2
  fi
  export DATABASE_URL="postgres://nudge:nudge@127.0.0.1:$port/nudge"
}

as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
