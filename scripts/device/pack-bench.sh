#!/usr/bin/env bash
# pack-bench.sh - the GPU server's bundle with the receive bench in it: runs ../shared/device/pack.sh (runtime, Release
# `lima2` CLI, native libraries, test frames) and adds `lima2-bench` (bench/Lima2.Bench, Release) beside the CLI in
# .device-bundle/cli, where the bench finds the lima2 it streams from, and the scripts of scripts/device.
#   scripts/device/pack-bench.sh            from the checkout's root (SHARED=... if shared/ is not beside the checkout)
set -euo pipefail
repo=$(git rev-parse --show-toplevel)
shared=$(cd "${SHARED:-$repo/../shared}" && pwd)
if [ -f "$repo/.git" ]; then
  # A git worktree: its .git is a file, and pack.sh's `>> .git/info/exclude` would stop it. Run a copy that writes
  # the exclude line to the common git folder (worktrees share it).
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  mkdir "$tmp/device"; ln -s "$shared/testdata" "$tmp/testdata"
  cp "$shared/device/zmq_stand_in.py" "$shared/device/run.sh" "$tmp/device/"
  exclude=$(cd "$repo" && realpath "$(git rev-parse --git-common-dir)")/info/exclude
  sed "s#\"\$repo/.git/info/exclude\"#\"$exclude\"#g" "$shared/device/pack.sh" > "$tmp/device/pack.sh"
  bash "$tmp/device/pack.sh" "$repo"
else
  bash "$shared/device/pack.sh" "$repo"
fi
B=$repo/.device-bundle
dotnet build "$repo/bench/Lima2.Bench" -c Release -v q -nologo >/dev/null
# the bench's output is the CLI's plus lima2-bench* and py/ (the same-work peer): add what the CLI copy lacks
for f in "$repo"/bench/Lima2.Bench/bin/Release/net10.0/*; do [ -e "$B/cli/${f##*/}" ] || cp -r "$f" "$B/cli/"; done
rm -rf "$B"/cli/*.pdb "$B"/cli/{cs,de,es,fr,it,ja,ko,pl,pt-BR,ru,tr,zh-Hans,zh-Hant}
du -sh "$B"
