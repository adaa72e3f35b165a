#!/bin/sh
# mkdash.sh: write grafana/dashboards/*.json from grafana/dashboards.jq.
# --check: change nothing, exit 1 naming each file that is out of date.
set -eu
cd "$(dirname "$0")"
command -v jq >/dev/null || { echo "mkdash.sh: jq is needed (apt-get install jq)" >&2; exit 1; }
check=0
[ "${1:-}" = --check ] && check=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
jq -n -f dashboards.jq >"$tmp/all.json"
n=$(jq length "$tmp/all.json")
rc=0
i=0
while [ "$i" -lt "$n" ]; do
	f=$(jq -r ".[$i].file" "$tmp/all.json")
	jq ".[$i].dash" "$tmp/all.json" >"$tmp/$f"
	if [ $check = 1 ]; then
		if ! cmp -s "$tmp/$f" "dashboards/$f"; then
			echo "mkdash.sh: grafana/dashboards/$f is out of date: run grafana/mkdash.sh" >&2
			rc=1
		fi
	else
		mv "$tmp/$f" "dashboards/$f"
	fi
	i=$((i + 1))
done
exit $rc
