# Makes Schemathesis (the OpenAPI fuzzer, from PyPI) available in a virtualenv cached under
# $NUDGE_CACHE. Source it after lib.sh; `ensure_schemathesis` prints the path of `st`.
# Run directly (`bash scripts/schemathesis.sh`) it installs and prints the path too.

NUDGE_SCHEMATHESIS_VERSION="${NUDGE_SCHEMATHESIS_VERSION:-4.32.5}"

find_python3() {
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

ensure_schemathesis() {
  if [[ -n "${SCHEMATHESIS_PATH:-}" ]]; then
    [[ -x "$SCHEMATHESIS_PATH" ]] || die "SCHEMATHESIS_PATH=$SCHEMATHESIS_PATH is not an executable"
    echo "$SCHEMATHESIS_PATH"; return 0
  fi
  local venv="$NUDGE_CACHE/schemathesis-$NUDGE_SCHEMATHESIS_VERSION"
  # The marker is written last, so an interrupted install is redone rather than trusted.
  if [[ -f "$venv/.complete" && -x "$venv/bin/st" ]]; then
    echo "$venv/bin/st"; return 0
  fi
  local python
  if ! python="$(find_python3)" || ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    [[ $(id -u) -eq 0 ]] || die "Python >= 3.10 with venv is needed for Schemathesis (apt-get install python3-venv)"
    log "installing Python 3 and venv from Debian's packages"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >&2
    python="$(find_python3)" || die "no Python >= 3.10 after installing python3"
  fi
  log "installing Schemathesis $NUDGE_SCHEMATHESIS_VERSION from PyPI into $venv (once)"
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2
  with_progress "installing Schemathesis" "$venv/bin/python" -m pip install --quiet \
    --disable-pip-version-check "schemathesis==$NUDGE_SCHEMATHESIS_VERSION" >&2
  "$venv/bin/st" --version >/dev/null || die "Schemathesis did not install"
  touch "$venv/.complete"
  echo "$venv/bin/st"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  ensure_schemathesis
fi
