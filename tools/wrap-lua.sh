#!/bin/sh
# Makes PREFIX a Lua installation whose PREFIX/bin/lua5.4 (named as LUA)
# starts the real one under a checker, for `make test-asan` and `make
# test-valgrind`: with PREFIX/bin first on PATH, busted and every
# `./crit.lua` or `lua5.4 ...` the specs start are checked, and no other
# program is (sh, tar, python3 and cc abort under LeakSanitizer and crawl
# under valgrind; they are not ours to check). PREFIX/include is the real
# Lua's, so that LuaRocks, which takes the Lua on PATH, finds the headers.
#
#   tools/wrap-lua.sh PREFIX LUA preload LIB...
#     LUA with LD_PRELOAD=LIB:...; the last LIB is tools/preload-once.c's,
#     which takes LD_PRELOAD out of the environment again, so the children
#     of lua5.4 do not inherit the runtimes. (The loader's own --preload
#     would need no helper, but the sanitizers then take the loader for
#     the program and name lua5.4's frames after its functions.)
#   tools/wrap-lua.sh PREFIX LUA valgrind ARG...
#     `valgrind ARG... LUA`; valgrind keeps to that process (it removes its
#     preload from the children's environment), and a lua5.4 started by it
#     comes back through PREFIX/bin/lua5.4.
set -eu
[ $# -ge 4 ] || { echo "usage: $0 PREFIX LUA preload|valgrind ARG..." >&2; exit 2; }
prefix=$1 name=$2 how=$3
shift 3
mkdir -p "$prefix/bin"
dir=$(cd "$prefix/bin" && pwd)
# The real LUA: the first one on PATH that is not a wrapper of ours.
lua=$(PATH=$(printf %s "$PATH" | tr : '\n' | grep -vxF "$dir" | paste -sd:) command -v "$name") ||
  { echo "$0: no $name on PATH" >&2; exit 1; }

quote() { printf "'%s'" "$(printf %s "$1" | sed "s/'/'\\\\''/g")"; }

case $how in
preload)
  libs=$(printf %s "$*" | tr ' ' :)
  run="env LD_PRELOAD=$(quote "$libs") $(quote "$lua")"
  ;;
valgrind)
  run=valgrind
  for a in "$@"; do run="$run $(quote "$a")"; done
  run="$run $(quote "$lua")"
  ;;
*) echo "$0: preload or valgrind, not $how" >&2; exit 2 ;;
esac

printf '#!/bin/sh\n# Written by tools/wrap-lua.sh (make test-asan, test-valgrind).\nexec %s "$@"\n' \
  "$run" > "$dir/$name.tmp"
chmod +x "$dir/$name.tmp"
mv "$dir/$name.tmp" "$dir/$name"
ln -sfn "$(dirname "$(dirname "$lua")")/include" "$prefix/include"
