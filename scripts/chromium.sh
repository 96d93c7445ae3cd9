# Makes Debian's Chromium available for the browser tests (test/browser, driven by
# playwright-core) and exports CHROMIUM_PATH. Installed once from Debian's packages when
# missing; playwright's own browser download is never used (it needs internet).
# Source it after lib.sh.

ensure_chromium() {
  if [[ -n "${CHROMIUM_PATH:-}" && -x "$CHROMIUM_PATH" ]]; then export CHROMIUM_PATH; return 0; fi
  if ! command -v chromium >/dev/null 2>&1; then
    [[ $(id -u) -eq 0 ]] || die "the browser tests need Chromium: apt-get install chromium, or set CHROMIUM_PATH"
    log "installing Chromium from Debian's packages (once)"
    with_progress "installing Chromium" bash -c \
      'DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium' >&2
  fi
  CHROMIUM_PATH="$(command -v chromium)"
  export CHROMIUM_PATH
}
