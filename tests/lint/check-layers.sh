#!/bin/sh
# Enforce the one-way layer rules of docs/architecture: api/ and provision/
# never include each other, common/ includes neither, and only cmd/ prints
# or exits.
set -u
top=${1:-.}
cd "$top" || exit 1
fail=0
report() { echo "layer violation: $*"; fail=1; }

for f in api/*.c api/*.h; do
  [ -e "$f" ] || continue
  grep -Hn '#include *"\(\.\./\)\?provision/\|#include *"pvfio/provision' "$f" && report "$f includes provision/"
done
for f in provision/*.c provision/*.h; do
  [ -e "$f" ] || continue
  grep -Hn '#include *"\(\.\./\)\?api/\|#include *"pvfio/api' "$f" && report "$f includes api/"
done
for f in common/*.c; do
  [ -e "$f" ] || continue
  grep -Hn 'pvfio/\(api\|host\|plan\|hostplan\|vmplan\)' "$f" && report "$f (common) includes a layer header"
done
# Only cmd/ prints or exits.
for f in common/*.c provision/*.c api/*.c; do
  [ -e "$f" ] || continue
  grep -Hn '\b\(printf\|puts\|putchar\|perror\|exit\|_exit\|abort\) *(' "$f" | grep -v '^\S*: *\*\|//' \
    && report "$f prints or exits"
  grep -Hn '\bf\?printf *( *std\(out\|err\)\|fputs *([^;]*std\(out\|err\)' "$f" && report "$f writes to stdout/stderr"
done
[ $fail -eq 0 ] && echo "layers ok"
exit $fail
