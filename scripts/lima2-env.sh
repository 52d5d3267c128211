# lima2-env.sh - sourced by the lima2-*.sh scripts: paths, the Release apphost, and the loopback Tango environment.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lima2_dir=${LIMA2_DIR:-$repo/.data/lima2}
lima2_run=$lima2_dir/run
lima2_logs=$lima2_dir/log
lima2_bin=$repo/DeviceServers/Lima2.Server/bin/Release/net10.0/Lima2Server
lima2_config=${LIMA2_CONFIG:-$repo/config/beamline.yaml}
export ORBendPoint=giop:tcp:127.0.0.1:
if [ -z "${TANGO_HOST:-}" ]; then eval "$("$repo/scripts/tango-db.sh" env)"; fi
export LIMA2_LOG_DIR=${LIMA2_LOG_DIR:-$lima2_logs} # the servers' own log files (ServerLog.cs)
mkdir -p "$lima2_run" "$lima2_logs"

lima2_say() { printf '[lima2] %s\n' "$*" >&2; }
lima2_build() {
    [ -x "$lima2_bin" ] && [ -z "$(find "$repo/DeviceServers" -name '*.cs' -newer "$lima2_bin" -print -quit)" ] && return
    lima2_say "building Lima2Server (Release)"
    dotnet build "$repo/DeviceServers/Lima2.Server" -c Release --nologo -v quiet >"$lima2_logs/build.log" 2>&1 \
        || { tail -20 "$lima2_logs/build.log" >&2; lima2_say "build failed"; return 1; }
}
# a PID is ours while it lives and its command line is Lima2Server <instance>
lima2_alive() {
    local pid=$1 instance=$2
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "Lima2Server $instance"
}
