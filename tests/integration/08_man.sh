#!/bin/bash
# tags: sanitize
# 08_man.sh: the man pages cannot drift from the binary.  docs/labsup.1
# and docs/labsup.conf.5 are mandoc-lint clean at -W warning and render
# with man -l; every command of `labsup --help` has an `.It Cm COMMAND`
# entry in labsup.1 (a subcommand `.It Cm COMMAND SUB`), and every option
# of its usage has an `.It Fl OPTION` item inside that entry; every option
# anywhere in --help has one somewhere; labsup.1 lists no command the
# binary lacks.
# Every key of `labsup config keys` has an `.It Cm KEY` entry under its
# section's `.Ss Bq SECTION` heading in labsup.conf.5, with the key
# table's default (`Default:` then `.Ql VALUE`, or the comment line
# `.\" 08_man.sh: default varies` where the install decides it), and the page
# documents no section or key the table lacks.  MAN_DIR (default docs/)
# points the test at other copies of the pages.
. "$(dirname "$0")/../lib.sh"

command -v mandoc >/dev/null || skip "mandoc is not installed (scripts/deps.sh installs it)"
: "${MAN_DIR:=$ROOT/docs}"
PAGE1=$MAN_DIR/labsup.1
PAGE5=$MAN_DIR/labsup.conf.5
[ -f "$PAGE1" ] || fail "$PAGE1 does not exist"
[ -f "$PAGE5" ] || fail "$PAGE5 does not exist"
TMP=$(mktemp -d /tmp/labsup-man.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

missing=()
miss() { missing+=("$*"); }

# has_fl FILE OPT: OPT (-n, --json) has an item of its own in FILE, an
# `.It Fl` line that names it: `.It Fl -json`, `.It Fl f , Fl -foreground`
has_fl() {
	grep -E '^\.It Fl( |$)' "$1" |
		grep -Eq "(^\.|[[:space:]])Fl[[:space:]]+${2#-}([[:space:]]|$)"
}
# options OF TEXT: the options (-x, --long) in a piece of --help
options() {
	grep -oE '(^|[][ |,(])--?[a-z0-9][a-z0-9-]*' <<<"$1" | sed 's/^[^-]*//' | sort -u
}

note "mandoc -T lint -W warning"
for p in "$PAGE1" "$PAGE5"; do
	out=$(mandoc -T lint -W warning "$p" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
		miss "$(basename "$p"): mandoc -T lint -W warning exited $rc: $out"
	fi
done

note "the pages render"
for p in "$PAGE1" "$PAGE5"; do
	# (bold is overstruck: X backspace X)
	if ! mandoc -T utf8 "$p" >"$TMP/out" 2>"$TMP/err" ||
		! sed 's/.\x08//g' "$TMP/out" | grep -q '^NAME'; then
		miss "$(basename "$p"): mandoc -T utf8 does not render it: $(cat "$TMP/err")"
	fi
	if command -v man >/dev/null; then
		MANWIDTH=80 man -l "$p" >"$TMP/out" 2>"$TMP/err"
		rc=$?
		if [ "$rc" -ne 0 ] || ! grep -q '^NAME' "$TMP/out" || [ -s "$TMP/err" ]; then
			miss "$(basename "$p"): man -l exited $rc: $(head -c 300 "$TMP/err")"
		fi
	fi
done

note "labsup.1 against labsup --help"
help=$("$LABSUP" --help) || fail "$LABSUP --help failed"
ncmd=0
cmds=" "
while IFS= read -r line; do
	case $line in "  "[a-z]*) ;; *) continue ;; esac
	usage=${line#  }
	usage=${usage%%  *}	# a short usage shares its line with the summary
	cmd=${usage%% *}
	rest=${usage#"$cmd"}
	ncmd=$((ncmd + 1))
	cmds="$cmds$cmd "
	if ! grep -Eq "^\.It Cm $cmd([[:space:]]|\$)" "$PAGE1"; then
		miss "labsup.1: command $cmd has no '.It Cm $cmd' entry"
		continue
	fi
	# subcommands: the plain words of the usage outside [...]
	for sub in $(sed 's/\[[^]]*\]//g' <<<"$rest" | grep -oE '(^|[ |])[a-z][a-z0-9-]*' | tr -d ' |'); do
		grep -Eq "^\.It Cm $cmd $sub([[:space:]]|\$)" "$PAGE1" ||
			miss "labsup.1: subcommand '$cmd $sub' has no '.It Cm $cmd $sub' entry"
	done
	# its options, in its own entry (up to the next command or .Sh)
	awk -v cmd="$cmd" '
		/^\.Sh / { inb = 0 }
		/^\.It Cm / { split($0, w, /[ \t]+/); inb = (w[3] == cmd) }
		inb { print }' "$PAGE1" >"$TMP/entry"
	for opt in $(options "$rest"); do
		has_fl "$TMP/entry" "$opt" ||
			miss "labsup.1: option $opt of '$cmd' has no '.It Fl ${opt#-}' item in the '.It Cm $cmd' entry"
	done
done <<<"$help"
[ "$ncmd" -ge 5 ] || fail "found only $ncmd commands in --help: has its format changed?"$'\n'"$help"
for opt in $(options "$help"); do
	has_fl "$PAGE1" "$opt" || miss "labsup.1: option $opt of --help has no '.It Fl ${opt#-}' item"
done
# and no command the binary does not have
for c in $(grep -E '^\.It Cm ' "$PAGE1" | awk '{ print $3 }' | sort -u); do
	case $cmds in *" $c "*) ;; *) miss "labsup.1: documents '$c', which labsup --help does not list" ;; esac
done

note "labsup.conf.5 against labsup config keys"
"$LABSUP" config keys >"$TMP/keys" || fail "$LABSUP config keys failed"
[ "$(head -n 1 "$TMP/keys")" = "$(printf 'SECTION\tKEY\tTYPE\tDEFAULT\tDOC')" ] ||
	fail "config keys: unexpected header: $(head -n 1 "$TMP/keys")"
# section_block SECTION: the lines of labsup.conf.5 under `.Ss Bq SECTION`
section_block() {
	awk -v want="$1" '
		/^\.S[hs] / { inb = ($0 == ".Ss Bq " want) }
		inb { print }' "$PAGE5"
}
# key_entry KEY < section block: the lines of its `.It Cm KEY` entry
key_entry() {
	awk -v key="$1" '
		/^\.(It|El|Ss|Sh)( |$)/ { split($0, w, /[ \t]+/)
			inb = (w[1] == ".It" && w[2] == "Cm" && w[3] == key) }
		inb { print }'
}
nkeys=0
sections=" "
while IFS=$'\t' read -r section key _type def _doc; do
	nkeys=$((nkeys + 1))
	case $sections in *" [$section] "*) ;; *) sections="${sections}[${section}] " ;; esac
	section_block "$section" >"$TMP/section"
	if [ ! -s "$TMP/section" ]; then
		miss "labsup.conf.5: no '.Ss Bq $section' section (for key $key)"
		continue
	fi
	key_entry "$key" <"$TMP/section" >"$TMP/entry"
	if [ ! -s "$TMP/entry" ]; then
		miss "labsup.conf.5: key $key has no '.It Cm $key' entry under '.Ss Bq $section'"
		continue
	fi
	# the default: the line after "Default:", as .Ql VALUE (punctuation after)
	got=$(awk 'prev { print; exit } { prev = ($0 == "Default:") }' "$TMP/entry" |
		sed -n 's/^\.Ql \(.*\)$/\1/p' | sed 's/ [.,;:]$//')
	if grep -q '^\.\\" 08_man.sh: default varies' "$TMP/entry"; then
		: # where labsup is installed decides it ([grafana] dir)
	elif [ "$def" = "-" ] && [ -n "$got" ]; then
		miss "labsup.conf.5: [$section] $key has no default in the key table, the page says '$got'"
	elif [ "$def" != "-" ] && [ "$got" != "$def" ]; then
		miss "labsup.conf.5: [$section] $key: default '$def' (key table) is not 'Default:' '.Ql $def' in its entry${got:+ (the page says '$got')}"
	fi
done < <(tail -n +2 "$TMP/keys")
[ "$nkeys" -ge 10 ] || fail "found only $nkeys keys in config keys"
# and nothing the key table does not have
while IFS= read -r s; do
	case $sections in *" [$s] "*) ;; *) miss "labsup.conf.5: documents section [$s], which config keys does not list" ; continue ;; esac
	for k in $(section_block "$s" | grep -E '^\.It Cm ' | awk '{ print $3 }'); do
		awk -F'\t' -v s="$s" -v k="$k" '$1 == s && $2 == k { f = 1 } END { exit !f }' "$TMP/keys" ||
			miss "labsup.conf.5: documents [$s] $k, which config keys does not list"
	done
done < <(sed -n 's/^\.Ss Bq //p' "$PAGE5")

if [ ${#missing[@]} -gt 0 ]; then
	printf '%s\n' "${missing[@]}" >&2
	fail "${#missing[@]} problem(s) in the man pages (above)"
fi
echo "man pages: lint clean, $ncmd commands and their options, $nkeys keys with their defaults"
