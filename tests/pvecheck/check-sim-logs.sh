#!/bin/sh
# Check every request the simulator logged during a test run with Proxmox's own router,
# HTTP parameter decoding and JSON Schema (pvecheck), against the release it simulated.
#
#   sh tests/pvecheck/check-sim-logs.sh LOGDIR
#
# LOGDIR holds pvesim-9.x-PID.jsonl / pvesim-8.4-PID.jsonl (PVESIM_LOG_DIR of the run).
# 9.x logs are checked against the 9.x sandbox, 8.4 logs against the 8.4 sandbox
# (tests/pvecheck/sandbox.sh finds or builds them). Prints one summary line per release;
# exit 1 when a request Proxmox refuses (invalid, or an unknown path) was not refused by
# the simulator too, 0 otherwise (also when there is no sandbox: then one line says why
# the check was skipped). Requests both refuse (tests that send bad requests on purpose)
# are listed, not failures.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: check-sim-logs.sh LOGDIR}
# the tools beside the checkout (shared/ next to the repository), else the workplace's copy
_beside=$(cd "$(dirname "$0")/../../.." 2>/dev/null && pwd)/shared/tools/pvecheck
[ -d "$_beside" ] || _beside=/work/shared/tools/pvecheck
TOOLS=${PVECHECK_TOOLS:-$_beside}
if [ ! -f "$TOOLS/check-log.sh" ]; then
  echo "pvecheck: skipped: no pvecheck tools (PVECHECK_TOOLS=$TOOLS has no check-log.sh)"
  exit 0
fi
rc=0
for rel in 9.x 8.4; do
  set -- "$dir"/pvesim-"$rel"-*.jsonl
  [ -e "$1" ] || { echo "pvecheck $rel: no request logs in $dir"; continue; }
  sst=0
  sandbox=$(sh "$HERE/sandbox.sh" "$rel") || sst=$?
  case $sst in
    0) ;;
    3) echo "pvecheck $rel: skipped: $sandbox"; continue ;;
    *) echo "pvecheck $rel: FAILED to find or build the sandbox (exit $sst)"; rc=1; continue ;;
  esac
  input="$dir/check-$rel.input.jsonl"
  out="$dir/check-$rel.out"
  python3 "$HERE/simlog2check.py" "$@" >"$input"
  st=0
  PVECHECK_DIR="$sandbox" sh "$TOOLS/check-log.sh" -q "$input" >"$out" 2>&1 || st=$?
  summary=$(grep '^requests ' "$out" | tail -n 1 || true)
  echo "pvecheck $rel ($(basename "$sandbox"), $# logs): ${summary:-no summary}"
  if [ "$st" -eq 1 ]; then
    # exit 1: some request is invalid; it fails only if the simulator accepted it
    st=0
    python3 "$HERE/simlog2check.py" --judge "$input" "$out" || st=$?
  fi
  if [ "$st" -ne 0 ]; then
    grep -E '^(ERROR|error)' "$out" | head -n 20 || true
    echo "pvecheck $rel: FAILED (exit $st); every result: $out, input: $input"
    rc=1
  fi
done
exit $rc
