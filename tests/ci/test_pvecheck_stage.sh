#!/bin/sh
# Test of scripts/test.sh's pvecheck stage with a stand-in for Proxmox's check-log.sh
# (no sandbox needed): a request Proxmox refuses but the simulator accepted must fail the
# run; the same request refused by both must not; a broken checker (exit 2) must fail it.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the stand-in: refuses every request, like check-log.sh does for an invalid one
mkdir -p "$tmp/tools" "$tmp/sandbox"
cat >"$tmp/tools/check-log.sh" <<'EOS'
#!/bin/sh
[ -n "${FAKE_CHECK_BROKEN:-}" ] && { echo "sandbox error" >&2; exit 2; }
n=0
while IFS= read -r line; do n=$((n + 1)); echo "FAIL [$n] PUT /api2/json/x -> refused"; done <"$2"
echo "requests $n, valid 0, invalid $n, unknown-path 0"
exit 1
EOS
: >"$tmp/sandbox/SOURCES"

run() { # status the simulator answered
  rm -rf "$tmp/logs"; mkdir -p "$tmp/logs"
  printf '{"seq": 1, "method": "PUT", "path": "/api2/json/x", "query": "", "body": "a=1", "status": %s}\n' "$1" \
    >"$tmp/logs/pvesim-9.x-1.jsonl"
  st=0
  PVFIO_TEST_STAGES=pvecheck PVFIO_SIMLOGS="$tmp/logs" PVECHECK_TOOLS="$tmp/tools" PVECHECK_DIR="$tmp/sandbox" \
    sh "$TOP/scripts/test.sh" >"$tmp/out" 2>&1 || st=$?
  return $st
}
fail() { echo "FAIL: $*"; cat "$tmp/out"; exit 1; }

run 200 && fail "a request Proxmox refuses and the simulator accepted passed the pvecheck stage"
grep -q "^FAILED: test stage 'pvecheck'" "$tmp/out" || fail "no FAILED line naming the stage"
run 400 || fail "a request refused by both failed the stage"
grep -q "refused by both" "$tmp/out" || fail "the request refused by both is not listed"
FAKE_CHECK_BROKEN=1 run 400 && fail "a broken checker (exit 2) passed the stage"
echo "ok: accepted-but-refused fails, refused-by-both passes, a broken checker fails"
