# Finds the Temporal binaries in the order DESIGN.md §5 gives:
#   1. an explicit path in the environment (TEMPORAL_CLI_PATH, TEMPORAL_TEST_SERVER_PATH)
#   2. one on PATH
#   3. the project's cache ($NUDGE_CACHE)
#   4. built through a registry this machine reaches (Go module proxy, Maven Central)
#   5. nothing: callers then let the Temporal SDK download its own (needs internet)
# Source it after lib.sh. Each finder prints a path, or nothing for case 5.

find_temporal_cli() {
  if [[ -n "${TEMPORAL_CLI_PATH:-}" ]]; then
    [[ -x "$TEMPORAL_CLI_PATH" ]] || die "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not an executable"
    echo "$TEMPORAL_CLI_PATH"; return 0
  fi
  if command -v temporal >/dev/null 2>&1; then command -v temporal; return 0; fi
  local cached="$NUDGE_CACHE/temporal-cli-$NUDGE_TEMPORAL_CLI_VERSION/temporal"
  if [[ -x "$cached" ]]; then echo "$cached"; return 0; fi
  if command -v go >/dev/null 2>&1; then
    log "building the Temporal CLI $NUDGE_TEMPORAL_CLI_VERSION with Go (dev server + Web UI; a few minutes, once)"
    local gobin="$NUDGE_CACHE/temporal-cli-$NUDGE_TEMPORAL_CLI_VERSION"
    mkdir -p "$gobin"
    if with_progress "building the Temporal CLI" env GOBIN="$gobin" GOFLAGS=-mod=mod \
        go install "github.com/temporalio/cli/cmd/temporal@$NUDGE_TEMPORAL_CLI_VERSION" >&2 \
        && [[ -x "$cached" ]]; then
      echo "$cached"; return 0
    fi
    log "could not build the Temporal CLI with Go; falling back to the SDK's download"
  fi
  echo ""
}

find_test_server() {
  if [[ -n "${TEMPORAL_TEST_SERVER_PATH:-}" ]]; then
    [[ -x "$TEMPORAL_TEST_SERVER_PATH" ]] || die "TEMPORAL_TEST_SERVER_PATH=$TEMPORAL_TEST_SERVER_PATH is not an executable"
    echo "$TEMPORAL_TEST_SERVER_PATH"; return 0
  fi
  if command -v temporal-test-server >/dev/null 2>&1; then command -v temporal-test-server; return 0; fi
  local dir="$NUDGE_CACHE/temporal-test-server-$NUDGE_TEST_SERVER_VERSION"
  if [[ -x "$dir/temporal-test-server" ]]; then echo "$dir/temporal-test-server"; return 0; fi
  if command -v mvn >/dev/null 2>&1 && command -v java >/dev/null 2>&1; then
    log "fetching io.temporal:temporal-test-server:$NUDGE_TEST_SERVER_VERSION from Maven Central (once)"
    if build_test_server "$dir" >&2; then echo "$dir/temporal-test-server"; return 0; fi
    log "could not fetch the test server with Maven; falling back to the SDK's download"
  fi
  echo ""
}

# Downloads the test server's jars and writes a launcher tuned for a fast JVM start:
# the SDK gives the server 5 s to open its port, so we use C1 only, the serial GC and an
# application class-data-sharing archive recorded on a first run.
build_test_server() {
  local dir="$1" work
  work="$(mktemp -d)"
  cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>dev.nudge</groupId><artifactId>temporal-test-server-fetch</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies><dependency><groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId>
    <version>$NUDGE_TEST_SERVER_VERSION</version></dependency></dependencies>
</project>
POM
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/lib"
  with_progress "downloading the test server" \
    mvn -q -B -Dstyle.color=never -f "$work/pom.xml" dependency:copy-dependencies -DoutputDirectory="$dir.tmp/lib"
  local jvm_flags='-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k -XX:-UsePerfData'
  cat > "$dir.tmp/temporal-test-server" <<LAUNCHER
#!/bin/sh
# Temporal's time-skipping test server ($NUDGE_TEST_SERVER_VERSION). Args: <port> [--enable-time-skipping]
DIR="\$(cd "\$(dirname "\$0")" && pwd)"
CDS=""
[ -f "\$DIR/app.jsa" ] && CDS="-XX:SharedArchiveFile=\$DIR/app.jsa -Xshare:auto"
exec java $jvm_flags \$CDS -cp "\$DIR/lib/*" io.temporal.testserver.TestServer "\$@"
LAUNCHER
  chmod +x "$dir.tmp/temporal-test-server"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  # Record the class-data-sharing archive in place (it remembers the class path): start
  # once, wait for the port, stop cleanly.
  local port=$((20000 + RANDOM % 20000))
  java $jvm_flags -XX:ArchiveClassesAtExit="$dir/app.jsa" -cp "$dir/lib/*" \
    io.temporal.testserver.TestServer "$port" --enable-time-skipping >/dev/null 2>&1 &
  local pid=$!
  wait_for_port 127.0.0.1 "$port" 30 || log "test server did not open its port while recording CDS"
  sleep 1
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
