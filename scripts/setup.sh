#!/usr/bin/env bash
# setup.sh - install what a bare Debian 12 machine lacks to build, run and test Lima2.Tango, then restore
# NuGet packages. Idempotent: a second run checks the packages and returns in about a second.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(
    # the native cppTango shim
    g++ cmake make pkg-config libtango-dev
    # a real Tango system for the servers and the tests: MariaDB + DataBaseds, TangoTest, Starter, tango_admin
    mariadb-server-core mariadb-client tango-db tango-test tango-starter libtango-tools
    # the frame path: ZeroMQ, HDF5 1.10 with the bitshuffle/LZ4 filter for readers, LZ4, OpenCL on the CPU (PoCL)
    libzmq3-dev libhdf5-dev hdf5-filter-plugin bitshuffle liblz4-dev ocl-icd-opencl-dev pocl-opencl-icd clinfo
    # the peers our tests compare with: PyTango, h5py, numpy, pyFAI on PoCL, pyzmq, CBOR; YAML for the BLISS example
    python3-tango python3-numpy python3-h5py python3-pyfai python3-pyopencl python3-zmq python3-cbor2 python3-jsonschema python3-yaml
    # NXmx readers not written here: NeXus' own tools (nxdir, nxbrowse), silx, pint and dateutil (units and times as dxtbx reads them)
    nexus-tools python3-silx python3-pint python3-dateutil
)

say() { printf '[setup] %s\n' "$*" >&2; }

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    say "installing ${#missing[@]} Debian packages: ${missing[*]}"
    # We run our own embedded Tango database (scripts/tango-db.sh): tell dbconfig not to create one.
    echo 'tango-db tango-db/dbconfig-install boolean false' | "${sudo[@]}" debconf-set-selections
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    say "Debian packages installed"
else
    say "Debian packages already installed"
fi

command -v dotnet >/dev/null || { say "the .NET 10 SDK is missing (it is part of the base image)"; exit 1; }
dotnet restore "$repo/Lima2.Tango.sln" --verbosity quiet
# the linux-x64 runtime packs of the self-contained apps (scripts/publish.sh), so publishing needs no network later
for app in Lima2.Server Lima2.Cli; do
    dotnet restore "$repo/DeviceServers/$app" --runtime linux-x64 -p:SelfContained=true --verbosity quiet
done
say "NuGet packages restored"
