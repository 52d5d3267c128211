#!/usr/bin/env bash
# lima2-start.sh [beamline.yaml] - start the control and receiver servers of a registered beamline description as
# background processes (logs and PID files under .data/lima2), each with the ORBendPoint the YAML gives it (else the
# environment's); returns once each answers.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lima2-env.sh"
config=${1:-$lima2_config}
lima2_build
instances=$("$lima2_bin" --instances "$config")   # "<instance> [<ORBendPoint>]" per line
while read -r instance endpoint; do
    pidfile=$lima2_run/$instance.pid
    if lima2_alive "$(cat "$pidfile" 2>/dev/null || true)" "$instance"; then lima2_say "$instance already runs"; continue; fi
    log=$lima2_logs/$instance.log
    env ${endpoint:+ORBendPoint="$endpoint"} setsid "$lima2_bin" "$instance" >"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 300); do
        grep -q "Ready to accept request" "$log" && break
        lima2_alive "$(cat "$pidfile")" "$instance" || { cat "$log" >&2; lima2_say "$instance exited"; exit 1; }
        sleep 0.1
    done
    grep -q "Ready to accept request" "$log" || { lima2_say "$instance not ready after 30 s"; exit 1; }
    lima2_say "started Lima2Server $instance (pid $(cat "$pidfile"), log $log)"
done <<<"$instances"
