#!/usr/bin/env bash
# publish.sh [folder] - Lima2Server and the lima2 CLI as self-contained linux-x64 apps in one folder (default
# artifacts/publish/linux-x64) for a server host without the .NET SDK or runtime: copy the folder there, install the
# Debian libraries docs/DEPLOY.md lists, and run <folder>/Lima2Server <instance> (Starter: the folder in StartDsPath).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$repo/artifacts/publish/linux-x64}
say() { printf '[publish] %s\n' "$*" >&2; }

mkdir -p "$out"
for project in Lima2.Server Lima2.Cli; do
    say "publishing $project"
    # One runtime for both apps: they share the folder, and the second publish reuses the first's RID build.
    dotnet publish "$repo/DeviceServers/$project" --configuration Release --runtime linux-x64 --self-contained \
        --output "$out" --nologo --verbosity quiet -p:SatelliteResourceLanguages=en
done
say "done: $out/Lima2Server and $out/lima2 (self-contained; host libraries: docs/DEPLOY.md)"
