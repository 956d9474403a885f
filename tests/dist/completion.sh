#!/bin/bash
# The generated bash completion, driven the way bash drives it: COMP_WORDS and
# COMP_CWORD set, _pvfio called, COMPREPLY compared.
#
#   completion.sh PVFIO COMPLETION-SCRIPT SRCDIR
set -u
pvfio=$1
script=$2
src=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pvfio-completion-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=/dev/null
source "$script" || { echo "cannot source $script"; exit 1; }
[[ $(complete -p pvfio 2>/dev/null) == *"-F _pvfio"* ]] || { echo "no 'complete -F _pvfio pvfio'"; exit 1; }

fail=0
# complete WORD... : the words of the line, the last one being completed ('' = after a space)
# CWORD (the index of the word being completed) defaults to the last word.
complete_line() {
    COMP_WORDS=("$pvfio" "$@")
    COMP_CWORD=${CWORD:-$#}
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _pvfio
    printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}
expect() {   # expect "WANT" WORD...: exactly these completions (sorted, space separated)
    local want=$1 got
    shift
    got=$(complete_line "$@")
    if [[ $got != "$want" ]]; then
        echo "FAIL: pvfio $*|  want: [$want]  got: [$got]"
        fail=1
    fi
}
expect_has() {   # expect_has "A B" WORD...: these are among the completions
    local got w
    got=" $(complete_line "${@:2}") "
    for w in $1; do
        if [[ $got != *" $w "* ]]; then
            echo "FAIL: pvfio ${*:2}|  '$w' missing from [$got]"
            fail=1
        fi
    done
}
expect_not() {   # expect_not "A B" WORD...: none of these
    local got w
    got=" $(complete_line "${@:2}") "
    for w in $1; do
        if [[ $got == *" $w "* ]]; then
            echo "FAIL: pvfio ${*:2}|  '$w' offered in [$got]"
            fail=1
        fi
    done
}

cd "$tmp" || exit 1
mkdir -p roots/laptop roots/server 'dir with space' profiles
touch notes.txt a.yaml b.yml 'c d.yaml' profiles/x.yaml
cat >cluster.yaml <<'EOF'
version: 1
hosts:
  - nodes: [pve1, pve2]
    iommu: auto
mappings:
  - id: gpu
    map:
      - { node: pve3, path: 0000:01:00, id: 10de:2507 }
usb_mappings:
  - id: headset
    map:
      - { node: pve5, path: 1-3.4 }
vms:
  - name: ws1
    node: pve4
EOF
# not a valid profile (an unknown key): the names still come from a scan
cat >broken.yaml <<'EOF'
version: 1
hosts:
  - nodes: edge-1
    iommmu: auto
vms:
  - { name: a, node: edge-2, memroy: 1G }
  - name: b
    node: edge-3
    pci: [ { mapping: m
EOF

# commands and subcommands (hidden ones are not offered)
expect_has "validate plan diff apply host api help" ''
expect_not "__man __completion __nodes" ''
expect "host" ho
expect "apply check plan rollback rom scan" host ''
expect "fingerprint" api f
expect "plan" host p
expect "" bogus ''

# options per command
expect_has "--root --pci-ids --json --help --quiet --color" host scan --
expect_not "--node --yes --rebind" host scan --
expect_has "--node --root --rebind --yes" host apply --
expect_not "--json" api fingerprint --nothing
expect "--summary" validate --su
expect "--version" --vers
expect_has "-h -q -v" host check -

# option values
expect "always auto never" --color ''
expect "always auto" --color a
expect "always auto never" validate --color = ''
expect "always" validate --color = al
expect "--color=never" host scan --color=n
expect "roots/laptop roots/server" host scan --root roots/
expect "roots" host scan --root ro
expect_not "notes.txt a.yaml" host scan --root ''
expect_has "notes.txt" host check --pci-ids no
export PVFIO_COMPLETION_TEST_VAR=1
expect "PVFIO_COMPLETION_TEST_VAR" api get --secret-env PVFIO_COMPLETION_TEST

# profile arguments: *.yaml, *.yml and directories
expect "a.yaml b.yml broken.yaml c d.yaml cluster.yaml dir with space profiles roots" plan ''
expect "profiles/x.yaml" validate a.yaml profiles/
expect "" plan a.yaml ''
expect_has "a.yaml b.yml" validate a.yaml ''

# node names from the profile on the command line
expect "pve1 pve2 pve3 pve4 pve5" plan cluster.yaml --node ''
CWORD=3 expect "pve1 pve2 pve3 pve4 pve5" plan -n '' cluster.yaml
CWORD=2 expect "--no-host --node" plan --no cluster.yaml
CWORD=4 expect "pve1 pve2 pve3 pve4 pve5" vm add --node '' --profile cluster.yaml
expect "pve1 pve2 pve3 pve4 pve5" host plan --root roots/laptop cluster.yaml --node pve
expect "--node=pve2" host apply cluster.yaml --node=pve2
expect "pve1 pve2 pve3 pve4 pve5" host apply cluster.yaml --node = ''
expect "edge-1 edge-2 edge-3" plan broken.yaml --node ''
expect "" plan missing.yaml --node ''
expect "" plan --node ''
expect "pve1 pve2 pve3 pve4 pve5" vm add --profile cluster.yaml --node ''
PVFIO_PROFILE=cluster.yaml expect "pve1" vm add --node pve1

# help COMMAND
expect_has "validate host api" help ''
expect "" help host ''

# after --, everything is an argument
expect "" validate -- --s

# the example profiles shipped with the sources, and their node names
expect_has "$src/profiles/examples/two-node-mapping.yaml" plan "$src/profiles/examples/"
expect_has "pve1 pve2" plan "$src/profiles/examples/two-node-mapping.yaml" --node ''

[[ $fail -eq 0 ]] && echo "completion ok"
exit $fail
