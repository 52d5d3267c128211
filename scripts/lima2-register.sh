#!/usr/bin/env bash
# lima2-register.sh [beamline.yaml] - register the Lima2 servers, devices and properties of a beamline description
# (default config/beamline.yaml) in the Tango DB of TANGO_HOST (default: the embedded one, scripts/tango-db.sh).
# With LIMA2_STARTER=1, also Starter's StartDsPath: a folder with a Lima2Server symlink to the apphost.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lima2-env.sh"
config=${1:-$lima2_config}
lima2_build
if [ "${LIMA2_STARTER:-0}" = 1 ]; then
    ds=$lima2_dir/ds
    mkdir -p "$ds" "$lima2_logs/starter"
    ln -sfn "$lima2_bin" "$ds/Lima2Server"   # Starter runs <StartDsPath>/<server> <instance>
    tmp=$(mktemp --suffix=.yaml)
    sed -e "s|^start_ds_path:.*|start_ds_path: $ds|" -e '$a starter_log_home: '"$lima2_logs/starter" "$config" >"$tmp"
    config=$tmp
fi
"$lima2_bin" --register "$config"
