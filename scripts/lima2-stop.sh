#!/usr/bin/env bash
# lima2-stop.sh - stop the Lima2Server processes lima2-start.sh started, by PID (SIGTERM, then SIGKILL after 15 s).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lima2-env.sh"
for pidfile in "$lima2_run"/*.pid; do
    [ -e "$pidfile" ] || continue
    instance=$(basename "$pidfile" .pid)
    pid=$(cat "$pidfile")
    if lima2_alive "$pid" "$instance"; then
        kill -TERM "$pid"
        for _ in $(seq 150); do lima2_alive "$pid" "$instance" || break; sleep 0.1; done
        if lima2_alive "$pid" "$instance"; then lima2_say "$instance ignored SIGTERM: killing"; kill -KILL "$pid"; fi
        lima2_say "stopped Lima2Server $instance (pid $pid)"
    fi
    rm -f "$pidfile"
done
