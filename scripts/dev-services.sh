# Starts the Temporal dev server with its Web UI. Source it after lib.sh and
# temporal-tools.sh. Nudge's search attributes are registered by the worker at start-up,
# so the same code serves the dev server and a full cluster.

# Usage: start_temporal_dev_server <grpc-port> <ui-port> <db-file> <log-file>; sets TEMPORAL_DEV_PID.
start_temporal_dev_server() {
  local port="$1" ui_port="$2" db_file="$3" log_file="$4" cli
  cli="$(find_temporal_cli)"
  [[ -n "$cli" ]] || die "no Temporal CLI and none could be built: install Go, or set TEMPORAL_CLI_PATH, or TEMPORAL_ADDRESS"
  local args=(server start-dev --ip 127.0.0.1 --port "$port" --ui-port "$ui_port" --db-filename "$db_file" --log-level warn)
  "$cli" "${args[@]}" >"$log_file" 2>&1 &
  TEMPORAL_DEV_PID=$!
  wait_for_port 127.0.0.1 "$port" 60 || die "the Temporal dev server did not start; see $log_file"
}
