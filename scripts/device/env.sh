# env.sh - sourced by the device scripts from the checkout's root: unpacks the bundle of pack-bench.sh (once) and sets
#   G   the bundle (.device-bundle), its runtime in DOTNET_ROOT (DOTNET_DIR, default /opt/dn) and on PATH (lima2-bench
#       starts `dotnet lima2.dll` for its stand-in detector);
#   NATIVE  where the bundle's native libraries are unpacked (NATIVE_DIR, default /tmp/lima2-native: outside the
#       bundle, which must stay under the 64 MiB a run carries), libs/ and plugins/;
#   LIBS  env settings that give lima2 those libraries: run a bundle binary as `env $LIBS $G/cli/lima2`.
G=$PWD/.device-bundle
[ -d "$G/cli" ] || { echo "no .device-bundle here: run scripts/device/pack-bench.sh first (see scripts/device/README.md)"; exit 2; }
DN=${DOTNET_DIR:-/opt/dn}
if [ ! -x "$DN/dotnet" ]; then mkdir -p "$DN" && tar xJf "$G/dotnet.tar.xz" -C "$DN" && tar xzf "$G/aspnet.tar.gz" -C "$DN"; fi
NATIVE=${NATIVE_DIR:-/tmp/lima2-native}
[ -d "$NATIVE/libs" ] || { mkdir -p "$NATIVE" && tar xJf "$G/libs.tar.xz" -C "$NATIVE"; }
export DOTNET_ROOT=$DN PATH=$DN:$PATH
LIBS="LD_LIBRARY_PATH=$NATIVE/libs HDF5_PLUGIN_PATH=$NATIVE/plugins"
# A script's time budget: BUDGET seconds from here (none if unset). `limit N` gives N, or what is left if less (at
# least 1), for a step's `timeout`.
deadline=$((SECONDS + ${BUDGET:-1000000}))
limit() { local left=$((deadline - SECONDS)); if [ "$left" -lt "$1" ]; then echo $((left > 1 ? left : 1)); else echo "$1"; fi; }
