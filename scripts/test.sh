#!/usr/bin/env bash
# test.sh - install what is missing, build everything (native shim included) and run every test suite.
# Then runs the demo once with empty OpenCL and PoCL kernel caches, as on a fresh machine (one more test: passed
# when it exits 0 and saw no frame dropped). Ends with one line "N passed, N failed" summing all suites; exits
# non-zero if any test failed or a suite could not run. Suites run one after the other: they start Tango servers
# and share 2 cores.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export ORBendPoint=giop:tcp:127.0.0.1:

scripts/setup.sh || exit 1
dotnet build Lima2.Tango.sln --configuration Release --nologo --verbosity quiet || { echo "0 passed, 1 failed"; exit 1; }

results=$repo/artifacts/test-results
rm -rf "$results"
mkdir -p "$results"
passed=0 failed=0
for project in tests/*.Tests/*.Tests.csproj; do
    name=$(basename "$project" .csproj)
    echo "== $name"
    dotnet test "$project" --configuration Release --no-build --nologo \
        --logger "trx;LogFileName=$name.trx" --results-directory "$results" 2>&1 | tee "$results/$name.log"
    rc=${PIPESTATUS[0]}
    trx=$results/$name.trx
    if [ -f "$trx" ]; then
        counters=$(grep -o '<Counters [^>]*>' "$trx")
        p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
        f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
        # a test host that crashed counts its aborted tests nowhere: count the suite as one failure
        if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then f=1; fi
        passed=$((passed + ${p:-0})) failed=$((failed + ${f:-0}))
    elif [ "$rc" -ne 0 ]; then
        failed=$((failed + 1))
    fi
done

echo "== demo with empty kernel caches"
caches=$(mktemp -d)
mkdir -p "$caches/lima2" "$caches/pocl"
LIMA2_OPENCL_CACHE=$caches/lima2 POCL_CACHE_DIR=$caches/pocl scripts/demo.sh 2>&1 | tee "$results/demo.log"
rc=${PIPESTATUS[0]}
rm -rf "$caches"
if [ "$rc" -eq 0 ] && grep -q 'done: .*, dropped 0$' "$results/demo.log"; then
    passed=$((passed + 1))
else
    echo "demo failed (exit $rc): see $results/demo.log"
    failed=$((failed + 1))
fi

scripts/tango-db.sh down >/dev/null 2>&1 || true
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
