#!/bin/sh
# check-layers.sh: each folder is a layer and may include only its own
# headers and those of the layers below it (docs/ARCHITECTURE.md):
#   shm < lib < docker < backend < workers < supervisor < cli
# tests/, bench/ and tools sit on top and may include anything.  Prints
# every include that reaches up (file:line: what) and exits 1 if any does.
set -eu
cd "$(dirname "$0")/.."
layers="shm lib docker backend workers supervisor cli"
rank() {
	i=0
	for l in $layers; do
		[ "$l" = "$1" ] && { echo $i; return; }
		i=$((i + 1))
	done
	echo 99
}
bad=0 n=0
for dir in $layers; do
	r=$(rank "$dir")
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -f "$f" ] || continue
		grep -n '^#[ \t]*include[ \t]*"' "$f" | while IFS=: read -r line text; do
			inc=$(printf '%s\n' "$text" | sed 's/^#[ \t]*include[ \t]*"\([^"]*\)".*/\1/')
			# resolve against the including file's folder
			target=$(realpath -m --relative-to=. "$dir/$inc")
			top=${target%%/*}
			[ "$top" = "$target" ] && top=.
			tr=$(rank "$top")
			if [ "$tr" -gt "$r" ]; then
				echo "$f:$line: includes $inc ($top is above $dir)"
			fi
		done
		n=$((n + 1))
	done
done >/tmp/check-layers.$$
if [ -s /tmp/check-layers.$$ ]; then
	cat /tmp/check-layers.$$ >&2
	rm -f /tmp/check-layers.$$
	echo "check-layers: a folder includes from a layer above it (order: $layers)" >&2
	exit 1
fi
rm -f /tmp/check-layers.$$
echo "check-layers: ok (each of $layers includes only its own layer and those below)"
