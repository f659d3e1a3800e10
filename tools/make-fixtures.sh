#!/bin/sh
# Copies a small subset of the real CRIU image corpus into spec/fixtures, so
# the specs run without it: a few whole dumps, plus the smallest image of
# every other kind, each with upstream crit 4.2's output as golden files.
#   tools/make-fixtures.sh [CORPUS_DIR]      (default ../shared/corpus)
set -eu
export LC_ALL=C

corpus=${1:-../shared/corpus}
golden_src=$corpus/golden-crit-4.2
out=spec/fixtures

# Whole dumps: every image, with crit's x-*.txt and FAILURES.txt. sleep is
# the base set twice (criu 4.2 and 4.1.1's older pagemap); misc adds a zombie
# (a core image only) and a stopped task.
WHOLE_DIRS="sleep sleep-criu4.1.1 misc"
# Outside the whole dumps, an image larger than this is left out.
MAX_SIZE=204800
# Kinds where one example says too little: every one that fits is taken.
ALL_OF_KINDS="ghost-file"
# Not new kinds, but files.img is where most message types live: pyfds
# holds fifteen file types, tty the ttys that tty-info refers to.
EXTRA_IMAGES="pyfds/files.img tty/files.img"

die() { echo "make-fixtures: $*" >&2; exit 1; }

[ -f "$golden_src/sleep/x-ps.txt" ] || die "no corpus with golden-crit-4.2/ in $corpus"
[ -d spec ] || die "run me from the top of the checkout"

# The kind of an image, from its name: core-31110.img is core,
# tcp-stream-114bf.img is tcp-stream, tmpfs-dev-22.tar.gz.img is tmpfs-dev.
# Ids are hex with a digit in them, so words like "data" stay. (awk, so a
# whole directory takes one process.)
KIND_AWK='function image_kind(name,  kind) {
	kind = name
	sub(/\.img$/, "", kind); sub(/\.tar\.gz$/, "", kind)
	if (match(kind, /-[0-9a-f]*[0-9][0-9a-f]*$/)) kind = substr(kind, 1, RSTART - 1)
	return kind
}'

# The directories that hold one dump each (every dump has an inventory).
dump_dirs() {
	for d in "$corpus"/*/; do
		[ -f "$d/inventory.img" ] && basename "$d"
	done
	return 0
}

is_whole_dir() {
	case " $WHOLE_DIRS " in *" $1 "*) return 0 ;; esac
	return 1
}

# One image and its golden JSON (crit decode and crit show), if crit had any.
copy_image() {
	dir=$1 name=$2
	mkdir -p "$out/corpus/$dir" "$out/golden/$dir"
	cp "$corpus/$dir/$name" "$out/corpus/$dir/"
	for suffix in .json .show.json; do
		golden=$golden_src/$dir/$name$suffix
		[ -f "$golden" ] && cp "$golden" "$out/golden/$dir/"
	done
	return 0
}

copy_whole_dir() {
	dir=$1
	[ -d "$corpus/$dir" ] || die "no $corpus/$dir"
	for image in "$corpus/$dir"/*; do copy_image "$dir" "$(basename "$image")"; done
	for report in x-ps.txt x-fds.txt x-mems.txt x-rss.txt FAILURES.txt; do
		[ -f "$golden_src/$dir/$report" ] && cp "$golden_src/$dir/$report" "$out/golden/$dir/"
	done
	return 0
}

# "kind size dir name" for every image outside the whole dumps, smallest
# first within a kind.
candidates() {
	for dir in $(dump_dirs); do
		is_whole_dir "$dir" && continue
		wc -c "$corpus/$dir"/* | awk -v dir="$dir" "$KIND_AWK"'
			$2 != "total" { name = $2; sub(/.*\//, "", name); print image_kind(name), $1, dir, name }'
	done | sort -k1,1 -k2,2n -k3,3 -k4,4
}

# The kinds of the images copied so far.
copied_kinds() {
	find "$out/corpus" -type f | awk "$KIND_AWK"'{ sub(/.*\//, ""); print image_kind($0) }' | sort -u
}

# Picks from the candidates: the smallest image that fits of each kind not
# in $1 (the kinds covered so far), or every one that fits for ALL_OF_KINDS.
pick_new_kinds() {
	awk -v max="$MAX_SIZE" -v all_of="$ALL_OF_KINDS" -v covered_kinds="$1" '
		BEGIN {
			split(covered_kinds, list, " "); for (i in list) covered[list[i]] = 1
			split(all_of, list, " "); for (i in list) take_all[list[i]] = 1
		}
		covered[$1] && !take_all[$1] { next }
		$2 > max { if (!($1 in too_big)) too_big[$1] = $3 "/" $4 " (" $2 " bytes)"; next }
		take_all[$1] || !($1 in picked) { picked[$1] = 1; print $3, $4 }
		END {
			for (kind in too_big) if (!(kind in picked) && !covered[kind])
				print "make-fixtures: no " kind " image fits; smallest is " too_big[kind] > "/dev/stderr"
		}'
}

rm -rf "$out/corpus" "$out/golden"

for dir in $WHOLE_DIRS; do copy_whole_dir "$dir"; done
whole_kinds=$(copied_kinds | tr '\n' ' ')
candidates | pick_new_kinds "$whole_kinds" | while read -r dir name; do copy_image "$dir" "$name"; done
for image in $EXTRA_IMAGES; do
	if [ -f "$corpus/$image" ]; then copy_image "$(dirname "$image")" "$(basename "$image")"; fi
done

images=$(find "$out/corpus" -type f | wc -l)
goldens=$(find "$out/golden" -type f | wc -l)
echo "make-fixtures: $images images and $goldens golden files from $corpus"
echo "  whole dumps: $WHOLE_DIRS"
echo "  kinds: $(copied_kinds | tr '\n' ' ')"
echo "  other images:"
find "$out/corpus" -type f | sort | while read -r path; do
	dir=$(basename "$(dirname "$path")")
	is_whole_dir "$dir" || echo "    $dir/$(basename "$path") ($(wc -c < "$path") bytes)"
done
echo "  total: $(du -sh "$out" | cut -f1)"
