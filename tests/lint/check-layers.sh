#!/bin/sh
# Enforce the one-way layer rules (docs/conventions.md):
#   - api/ never includes provision's headers, provision/ never includes api's;
#   - common/ includes neither;
#   - engine/ (orchestration) may use provision/ and api/, never cmd/;
#   - only cmd/ prints or exits (abort() for a broken internal invariant, like
#     assert(), is allowed).
set -u
top=${1:-.}
cd "$top" || exit 1
fail=0
report() { echo "layer violation: $*"; fail=1; }

PROVISION_H='pvfio/\(host\|hostplan\|hostpci\|vmplan\|profile\)\.h\|"\.\./provision/'
API_H='pvfio/\(api\|observe\|apiexec\)\.h\|"\.\./api/'

for f in api/*.c api/*.h; do
  [ -e "$f" ] || continue
  grep -Hn "#include.*\($PROVISION_H\)" "$f" && report "$f includes a provision/ header"
done
for f in provision/*.c provision/*.h; do
  [ -e "$f" ] || continue
  grep -Hn "#include.*\($API_H\)" "$f" && report "$f includes an api/ header"
done
for f in common/*.c include/pvfio/api.h include/pvfio/observe.h include/pvfio/apiexec.h; do
  [ -e "$f" ] || continue
  case "$f" in common/*) pat="$PROVISION_H\|$API_H" ;; *) pat="$PROVISION_H" ;; esac
  grep -Hn "#include.*\($pat\)" "$f" && report "$f includes a header of another layer"
done
for f in include/pvfio/host.h include/pvfio/hostplan.h include/pvfio/hostpci.h include/pvfio/vmplan.h; do
  [ -e "$f" ] || continue
  grep -Hn "#include.*\($API_H\)" "$f" && report "$f includes an api/ header"
done
for f in common/*.c provision/*.c api/*.c engine/*.c; do
  [ -e "$f" ] || continue
  grep -Hn '\b\(printf\|puts\|putchar\|perror\|exit\|_exit\) *(' "$f" | grep -v '^\S*: *\*\|//' \
    && report "$f prints or exits"
  grep -Hn '\bf\?printf *( *std\(out\|err\)\|fputs *([^;]*std\(out\|err\)\|\bstd\(out\|err\)\b' "$f" \
    | grep -v '^[^:]*:[0-9]*: *\(/\*\|\*\|//\)' | grep . \
    && report "$f writes to stdout/stderr"
done
for f in engine/*.c engine/*.h; do
  [ -e "$f" ] || continue
  grep -Hn '#include "\(cli\|commands\|connect\|render\|render_nodes\|doc\)\.h"' "$f" && report "$f includes a cmd/ header"
done
[ $fail -eq 0 ] && echo "layers ok"
exit $fail
