# Starts the Temporal dev server with its Web UI. Source it after lib.sh and
# temporal-tools.sh. Nudge's search attributes are registered by the worker at start-up,
# so the same code serves the dev server and a full cluster.

# D5: one partition per task queue, so the send queue's rate limit is enforced in one place and
# sends go out evenly spaced rather than in bursts from several partitions (a full cluster sets
# this for the send queue alone, see docker-compose.yml).
NUDGE_DEV_SERVER_FLAGS=(--dynamic-config-value matching.numTaskqueueReadPartitions=1
  --dynamic-config-value matching.numTaskqueueWritePartitions=1)

# Usage: start_temporal_dev_server <grpc-port> <ui-port> <db-file> <log-file>; sets TEMPORAL_DEV_PID.
start_temporal_dev_server() {
  local port="$1" ui_port="$2" db_file="$3" log_file="$4" cli
  cli="$(find_temporal_cli)"
  [[ -n "$cli" ]] || die "no Temporal CLI and none could be built: install Go, or set TEMPORAL_CLI_PATH, or TEMPORAL_ADDRESS"
  local args=(server start-dev --ip 127.0.0.1 --port "$port" --ui-port "$ui_port" --db-filename "$db_file" --log-level warn
    "${NUDGE_DEV_SERVER_FLAGS[@]}")
  "$cli" "${args[@]}" >"$log_file" 2>&1 &
  TEMPORAL_DEV_PID=$!
  wait_for_port 127.0.0.1 "$port" 60 || die "the Temporal dev server did not start; see $log_file"
}
