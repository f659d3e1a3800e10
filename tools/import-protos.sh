#!/bin/sh
# Refresh proto/ from CRIU's image schema (default ../shared/criu-images).
# The wire format must stay exactly CRIU's, so the files are taken as they
# are; rpc.proto is the RPC protocol, not an image, and is left out.
set -eu
src=${1:-../shared/criu-images}
dst=${2:-proto}
[ -f "$src/magics.tsv" ] || { echo "import-protos: no CRIU schema in $src" >&2; exit 1; }
mkdir -p "$dst"
rm -f "$dst"/*.proto
for f in "$src"/*.proto; do
	case "$(basename "$f")" in rpc.proto) continue ;; esac
	cp "$f" "$dst/"
done
cp "$src/magics.tsv" "$src/LICENSE" "$dst/"
echo "import-protos: $(ls "$dst"/*.proto | wc -l) schema files from $src"
