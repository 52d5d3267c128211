# lima2-env.sh - sourced by the lima2-*.sh scripts: paths, the Release apphost, and the Tango environment (TANGO_HOST
# as set, else the embedded database's; ORBendPoint as the user set it, or per server in the beamline YAML).
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lima2_dir=${LIMA2_DIR:-$repo/.data/lima2}
lima2_run=$lima2_dir/run
lima2_logs=$lima2_dir/log
lima2_bin=$repo/DeviceServers/Lima2.Server/bin/Release/net10.0/Lima2Server
lima2_config=${LIMA2_CONFIG:-$repo/config/beamline.yaml}
if [ -z "${TANGO_HOST:-}" ]; then eval "$("$repo/scripts/tango-db.sh" env)"; fi
export LIMA2_LOG_DIR=${LIMA2_LOG_DIR:-$lima2_logs} # the servers' own log files (ServerLog.cs)
mkdir -p "$lima2_run" "$lima2_logs"

lima2_say() { printf '[lima2] %s\n' "$*" >&2; }
# Builds when a source changed since the last build here. Sources are compared with a stamp, not with the apphost: the
# compiler's generated obj/*.g.cs are always newer, and an incremental build that changes no code keeps the apphost.
lima2_build_stamp=$(dirname "$lima2_bin")/.lima2-build-stamp
lima2_build() {
    if [ -x "$lima2_bin" ] && [ -e "$lima2_build_stamp" ] && [ -z "$(find "$repo/DeviceServers" "$repo"/Directory.*.props \
        \( -name obj -o -name bin \) -prune -o -type f -newer "$lima2_build_stamp" -print -quit)" ]; then
        return
    fi
    lima2_say "building Lima2Server (Release)"
    local started
    started=$(mktemp)   # a source saved during the build counts for the next call
    dotnet build "$repo/DeviceServers/Lima2.Server" -c Release --nologo -v quiet >"$lima2_logs/build.log" 2>&1 \
        || { rm -f "$started"; tail -20 "$lima2_logs/build.log" >&2; lima2_say "build failed"; return 1; }
    mv "$started" "$lima2_build_stamp"
}
# a PID is ours while it lives and its command line is Lima2Server <instance>
lima2_alive() {
    local pid=$1 instance=$2
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "Lima2Server $instance"
}
