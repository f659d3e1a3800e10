#!/bin/sh
# Runs crit.lua over the whole real CRIU corpus and compares every output
# with upstream crit 4.2's (golden-crit-4.2/): decode, show, encode of both
# JSON forms, info, and x ps/fds/mems/rss. Prints a summary and the failures.
#   tools/corpus-check.sh [CORPUS_DIR]        (default ../shared/corpus)
#   CRIT=path/to/crit.lua tools/corpus-check.sh   (default: the checkout's)
# Exit status: 0 when every difference is a deliberate one, 1 otherwise.
set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")/.." && pwd)
crit=${CRIT:-$here/crit.lua}   # CRIT=/usr/local/bin/crit.lua checks an installed one
corpus=${1:-$here/../shared/corpus}
golden=$corpus/golden-crit-4.2

[ -d "$golden" ] || { echo "corpus-check: no golden-crit-4.2/ in $corpus" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=$tmp/failures
: > "$failures"

# Counters: $1_total, $1_ok (identical), $1_deliberate (a documented difference).
for c in decode show enc_json enc_show info raw x x_fixed; do
	eval "${c}_total=0 ${c}_ok=0 ${c}_deliberate=0"
done
task_state_only=0
deliberate=$tmp/deliberate
: > "$deliberate"

# Where crit 4.2 is wrong and we are deliberately not: "check dir/image why".
# A failure listed here counts as deliberate; one not listed is a failure.
cat > "$tmp/known" <<'KNOWN'
decode ipcns/ipcns-shm-9.img crit reads a segment kept in pages (in_pagemaps) as a payload, eating the next entry
show ipcns/ipcns-shm-9.img crit reads a segment kept in pages (in_pagemaps) as a payload, eating the next entry
info ipcns/ipcns-shm-9.img crit decodes one entry (see decode); the image has 2
encode ipcns/ipcns-shm-9.img.json crit's JSON is wrong (see decode): the next entry as extra; refused
encode ipcns/ipcns-shm-9.img.show.json crit's JSON is wrong (see decode): the next entry as extra; refused
KNOWN
known_reason() { # known_reason CHECK KEY -> prints the reason, or fails
	sed -n "s|^$1 $2 ||p" "$tmp/known" | grep .
}

# The first line of the last error, short.
err_line() { head -n 1 "$tmp/err" | cut -c 1-300; }

count() { # count KIND ok|deliberate|fail [CHECK KEY MESSAGE]
	eval "$1_total=\$(( $1_total + 1 ))"
	case $2 in
	ok) eval "$1_ok=\$(( $1_ok + 1 ))" ;;
	deliberate) eval "$1_deliberate=\$(( $1_deliberate + 1 ))" ;;
	*)
		if reason=$(known_reason "$3" "$4"); then
			eval "$1_deliberate=\$(( $1_deliberate + 1 ))"
			echo "$3 $4: $reason" >> "$deliberate"
		else
			echo "$3 $4: $5" >> "$failures"
		fi ;;
	esac
}

# What info should print, from crit's decode of the image.
cat > "$tmp/info.lua" <<'LUA'
local cjson = require "cjson"
local f = assert(io.open(arg[1], "rb"))
local img = cjson.decode(f:read("a"))
local n = #img.entries
if img.magic == "PAGEMAP" then n = n - 1 end
io.write(string.format("{\n    \"magic\": \"%s\",\n    \"count\": %d\n}", img.magic, n))
LUA

# Whether two JSON documents differ only in core's task_state lines (we
# name the states as compel does; crit 4.2's table is wrong, see README).
only_task_state() {
	diff "$1" "$2" > "$tmp/diff"
	grep '^[<>]' "$tmp/diff" | grep -qv '"task_state": ' && return 1
	return 0
}

for dirpath in "$corpus"/*/; do
	dir=$(basename "$dirpath")
	g=$golden/$dir
	[ -d "$g" ] || continue
	for img in "$dirpath"*; do
		name=$(basename "$img")
		if [ -f "$g/$name.json" ]; then
			# decode: -o writes no newline; crit's goldens were made with -o.
			if "$crit" decode -i "$img" -o "$tmp/out.json" 2> "$tmp/err" &&
				cmp -s "$tmp/out.json" "$g/$name.json"; then
				count decode ok
			else
				count decode fail decode "$dir/$name" "$(err_line)"
			fi
			# show: to stdout, with crit's trailing newline.
			if "$crit" show "$img" > "$tmp/out.show" 2> "$tmp/err"; then
				if cmp -s "$tmp/out.show" "$g/$name.show.json"; then
					count show ok
				elif only_task_state "$tmp/out.show" "$g/$name.show.json"; then
					count show deliberate
					task_state_only=$((task_state_only + 1))
				else
					count show fail show "$dir/$name" "differs from crit"
				fi
			else
				count show fail show "$dir/$name" "$(err_line)"
			fi
			# encode both JSON forms back to the original bytes.
			if "$crit" encode -i "$g/$name.json" -o "$tmp/out.img" 2> "$tmp/err" &&
				cmp -s "$tmp/out.img" "$img"; then
				count enc_json ok
			else
				count enc_json fail encode "$dir/$name.json" "$(err_line)"
			fi
			if "$crit" encode -i "$g/$name.show.json" -o "$tmp/out.img" 2> "$tmp/err" &&
				cmp -s "$tmp/out.img" "$img"; then
				count enc_show ok
			else
				count enc_show fail encode "$dir/$name.show.json" "$(err_line)"
			fi
			# info: crit's magic, and as many entries as crit's JSON has
			# (less the pagemap_head).
			expect=$(lua5.4 "$tmp/info.lua" "$g/$name.json")
			if "$crit" info "$img" > "$tmp/out.info" 2> "$tmp/err" &&
				[ "$(cat "$tmp/out.info")" = "$expect" ]; then
				count info ok
			else
				count info fail info "$dir/$name" "$(err_line)"
			fi
		elif grep -q "^decode $name: Maybe you are feeding me" "$g/FAILURES.txt" 2> /dev/null; then
			# A raw image: crit refuses it, and so must we, with its hint.
			if "$crit" decode -i "$img" > /dev/null 2> "$tmp/err"; then
				count raw fail decode "$dir/$name" "a raw image was decoded"
			elif [ "$(wc -l < "$tmp/err")" -eq 1 ] &&
				grep -q "Maybe you are feeding me an image with raw data" "$tmp/err"; then
				count raw ok
			else
				count raw fail decode "$dir/$name" "$(err_line)"
			fi
		fi
	done
	for what in ps fds mems rss; do
		if "$crit" x "$dirpath" "$what" > "$tmp/x.out" 2> "$tmp/err"; then rc=0; else rc=$?; fi
		if [ -f "$g/x-$what.txt" ]; then
			if [ $rc -eq 0 ] && cmp -s "$tmp/x.out" "$g/x-$what.txt"; then
				count x ok
			else
				count x fail x "$dir/$what" "$(err_line)"
			fi
		elif grep -q "^x $what:" "$g/FAILURES.txt" 2> /dev/null; then
			# crit failed here (zombies, criu 4.1 pagemaps): we must not.
			if [ $rc -eq 0 ] && [ -s "$tmp/x.out" ]; then
				count x_fixed ok
			else
				count x_fixed fail x "$dir/$what" "(crit fails here) $(err_line)"
			fi
		fi
	done
done

row() { # row LABEL KIND [WHAT_OK [WHY_DELIBERATE]]
	eval "t=\$$2_total ok=\$$2_ok del=\$$2_deliberate"
	printf '%-22s %4d/%-4d %s' "$1:" "$ok" "$t" "${3:-identical}"
	[ "$del" -gt 0 ] && printf ', %d deliberate (%s)' "$del" "${4:-listed below}"
	printf '\n'
}
echo "corpus: $corpus"
row "decode" decode
row "show" show identical "$task_state_only only in task_state names, others listed below"
row "encode(decode json)" enc_json byte-identical
row "encode(show json)" enc_show byte-identical
row "info" info "as crit's JSON has entries"
row "raw images" raw "refused with crit's hint"
row "x ps/fds/mems/rss" x identical
row "x where crit fails" x_fixed "exit 0 with a report"

if [ -s "$deliberate" ]; then
	echo
	echo "Deliberate differences ($(wc -l < "$deliberate")):"
	sed 's/^/  /' "$deliberate"
fi
if [ -s "$failures" ]; then
	echo
	echo "Failures ($(wc -l < "$failures")):"
	sed 's/^/  /' "$failures"
	exit 1
fi
exit 0
