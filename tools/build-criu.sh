#!/bin/sh
# Build the criu versions the restore suite uses, with ../shared/criu/build.sh,
# into BUILD/criu-VERSION (reused when already built).
#
#   tools/build-criu.sh SHARED BUILD VERSION...   (what `make criu` runs)
set -eu
shared=${1:?usage: build-criu.sh SHARED BUILD VERSION...}; build=${2:?usage: build-criu.sh SHARED BUILD VERSION...}
shift 2
script=$shared/criu/build.sh
if [ ! -x "$script" ]; then
  echo "make criu: no $script: the criu sources come from ../shared (set SHARED=DIR to use another)." >&2
  echo "make criu: without them the restore suite skips, or point CRIT_CRIU at an installed criu >= 4.2." >&2
  exit 1
fi
for version in "$@"; do
  dest=$build/criu-$version
  if [ -x "$dest/criu/criu" ] && [ -e "$dest/.built" ]; then
    echo "criu $version: $dest/criu/criu (already built)"
    continue
  fi
  echo "criu $version: building into $dest (2-3 minutes)"
  "$script" "$version" "$dest" >/dev/null
  echo "criu $version: $dest/criu/criu"
done
