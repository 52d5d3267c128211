#!/usr/bin/env bash
# lima2-register.sh [beamline.yaml] - register the Lima2 servers, devices and properties of a beamline description
# (default config/beamline.yaml) in the Tango DB of TANGO_HOST (default: the embedded one, scripts/tango-db.sh).
# With LIMA2_STARTER=1, also under Starter's control (host, start-up level), with a folder holding a Lima2Server
# symlink to the apphost appended to Starter's StartDsPath. Registering again keeps running servers exported.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lima2-env.sh"
config=${1:-$lima2_config}
lima2_build
if [ "${LIMA2_STARTER:-0}" = 1 ]; then
    ds=$lima2_dir/ds
    mkdir -p "$ds"
    ln -sfn "$lima2_bin" "$ds/Lima2Server"   # Starter runs <StartDsPath>/<server> <instance>
    tmp=$(mktemp --suffix=.yaml)
    sed -e '/^start_ds_path:/d' -e "\$a start_ds_path: $ds" "$config" >"$tmp"
    config=$tmp
fi
"$lima2_bin" --register "$config"
