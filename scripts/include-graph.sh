#!/usr/bin/env bash
# The include graph by layer, from the sources (no build needed): for each layer of pierd
# (server/<layer>/), for pierd's main and for pierload, the layers its files include and how
# many #include lines point at each. Layers are listed bottom up, as server/CMakeLists.txt
# stacks them; an include of a layer higher than the includer's own is marked "UP" and makes
# the script exit 1 (the build refuses those too: tests/layers/).
#
# usage: scripts/include-graph.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
layers=(config log runtime tls net handlers admin daemon pierd pierload)

rank() {
    local i
    for i in "${!layers[@]}"; do
        if [[ ${layers[$i]} == "$1" ]]; then
            echo "$i"
            return
        fi
    done
    echo "unknown layer: $1" >&2
    exit 2
}

# "<from> <to>" for every #include "pier/<to>/..." in <from>'s files.
edges() {
    local from
    for from in config log runtime tls net handlers admin daemon; do
        grep -rhoE '#include "pier/[a-z_]+/' "server/$from" | sed -E "s#.*pier/([a-z_]+)/#$from \1#"
    done
    grep -hoE '#include "pier/[a-z_]+/' server/main.cpp | sed -E 's#.*pier/([a-z_]+)/#pierd \1#'
    grep -rhoE '#include "pier/[a-z_]+/' loadtest | sed -E 's#.*pier/([a-z_]+)/#pierload \1#'
}

status=0
printf '%-10s %s\n' "layer" "includes (number of #include lines)"
for from in "${layers[@]}"; do
    line=""
    while read -r count to; do
        [[ $to == "$from" ]] && continue
        line+="$to ($count)"
        if (($(rank "$to") > $(rank "$from"))); then
            line+=" UP"
            status=1
        fi
        line+="  "
    done < <(edges | awk -v from="$from" '$1 == from { print $2 }' | sort | uniq -c |
        while read -r c t; do echo "$(rank "$t") $c $t"; done | sort -n | cut -d' ' -f2-)
    printf '%-10s %s\n' "$from" "${line:-(none)}"
done
exit $status
