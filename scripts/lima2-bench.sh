#!/usr/bin/env bash
# lima2-bench.sh - dead times (prepare, start, stop -> idle) with 1, 2 and 4 receivers, then the demo's
# end-to-end frames/s. Registers throw-away beamlines (instance bench<n>) in the embedded DB, runs them, stops them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lima2-env.sh"
"$repo/scripts/tango-db.sh" up
lima2_build
export LIMA2_DIR=$lima2_dir/bench
for n in 1 2 4; do
    yaml=$(mktemp --suffix=.yaml)
    { echo "instance: bench$n"; echo "domain: bench$n"; echo "name: sim"; echo "saving_root: /tmp/lima2"; echo "receivers:"
      for _ in $(seq "$n"); do echo "  - {channel: simulator, memory_cap: 256MiB}"; done; } >"$yaml"
    "$lima2_bin" --register "$yaml" >/dev/null
    "$repo/scripts/lima2-start.sh" "$yaml" 2>/dev/null
    recv=$(seq -s, -f "bench$n/limareceiver/sim@%g" 0 $((n - 1)))
    /usr/bin/python3 "$repo/scripts/lima2-bench.py" "bench$n/limacontrol/sim" "$recv" 10
    "$repo/scripts/lima2-stop.sh" 2>/dev/null
    rm -f "$yaml"
done
