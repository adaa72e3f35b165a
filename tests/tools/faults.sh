# faults.sh: helpers for the fault tests (tests/integration/5x_*.sh), on top
# of tests/lib.sh: per-lane accounting of what the lab produced against what
# InfluxDB holds.  Every record carries `seq`, its position in its lane; a
# lane that produced HEAD records must show up in InfluxDB as exactly the
# seqs 0..HEAD-1 (a full lane drops the newest record without using a seq).

# lanes_tool: tests/tools/lanes.c (reads the segment), built by make with
# the labsup under test (`make integration` builds the tools).
lanes_tool() {
	local build
	build=$(realpath --relative-to="$ROOT" "$(dirname "$LABSUP")")
	LANES="$ROOT/$build/tests/tools/lanes"
	[ -x "$LANES" ] && return 0
	make -s -C "$ROOT" BUILD="$build" $([ "$build" = build-san ] && echo SANITIZE=1) \
		"$build/tests/tools/lanes" >/dev/null 2>&1 ||
		fail "cannot build $LANES (make build/tests/tools/lanes)"
}

# lanes: SLOT NAME KIND PID HEAD TAIL DROPPED, one lane a line (tabs).  A
# slot whose worker a reload removed has no name any more but still holds
# its lane: it gets the last name seen for that slot (kept in a file, so
# call lanes once while every worker runs).
lanes() {
	local names="$LAB_DIR/lane_names"
	touch "$names"
	"$LANES" "/labsup.$(id -u).$LAB_NAME" >"$names.raw" || return 1
	awk -F'\t' -v OFS='\t' -v names="$names" '
		BEGIN { while ((getline l < names) > 0) { split(l, a, "\t"); n[a[1]] = a[2] }
			close(names) }
		{ if ($2 != "-") n[$1] = $2; else if ($1 in n) $2 = n[$1]; print }
		END { for (k in n) print k "\t" n[k] > names }' "$names.raw"
}

# wpid NAME: the pid of a worker, from status.
wpid() { status_json | jq -r ".workers[] | select(.name == \"$1\") | .pid"; }

# wait_committed SECS SNAPSHOT: until every lane's tail reached the head it
# had in SNAPSHOT (a `lanes` output): all it had produced then is stored.
wait_committed() {
	local end=$(( $(date +%s) + $1 ))
	while [ "$(date +%s)" -lt "$end" ]; do
		lanes >"$2.now" 2>/dev/null &&
			awk -F'\t' 'NR == FNR { head[$2] = $5; next }
				$2 in head && $6 < head[$2] { behind = 1 }
				END { exit behind }' "$2" "$2.now" && return 0
		sleep 1
	done
	return 1
}

# influx_csv QUERY: InfluxQL, CSV out, ns timestamps.
influx_csv() {
	curl -sS --max-time 300 -G "http://127.0.0.1:$INFLUX_PORT/query" \
		-H "Accept: application/csv" \
		--data-urlencode "db=${INFLUX_DB:-labsup}" \
		--data-urlencode "epoch=ns" --data-urlencode "q=$1"
}

# influx_lane_seqs OUT: "LANE<TAB>SEQ" for every point in InfluxDB, the
# lane worked out from measurement, tags and fields (the README's table of
# who emits what):
#   pg_locks, pg_activity, pg_blocking      sampler NODE
#   replication without lag_bytes           sampler NODE, else replication
#   hum                                     hum CLIENT (group default),
#                                           else hum GROUP.CLIENT
#   service                                 container
#   labsup with points_written and without  the writer's (it reports on
#     deadline_misses                       every lane); else its worker tag
#   events node_lost/node_back              "X unreachable"/"X is reachable
#                                           again": sampler X; else container
#   events repair                           replication
#   events chaos, profile "hum GROUP ..."   hum 1 / hum GROUP.1
#   other events                            supervisor
#   sub_stats, sub_rel, sub_slot, sub_worker replication (issue 16)
#   pg_log (seq, seq_2 .. seq_5: its parts)  logs
#   events pg_log                           logs
#   lock_wait (seq, seq_query, seq_blocker_query) sampler NODE
influx_lane_seqs() {
	local out=$1 m
	: >"$out"
	for m in pg_locks pg_activity pg_blocking hum service; do
		influx_csv "SELECT seq FROM \"$m\" GROUP BY *" >"$out.$m" ||
			fail "InfluxDB query on $m failed"
	done
	influx_csv 'SELECT seq, lag_bytes FROM "replication" GROUP BY *' >"$out.replication"
	influx_csv 'SELECT seq, deadline_misses, points_written FROM "labsup" GROUP BY *' >"$out.labsup"
	influx_csv 'SELECT seq, "text" FROM "events" GROUP BY *' >"$out.events"
	# issue 16: the replication worker's subscription health, the logs
	# worker's pg_log (a line's parts are one point, a seq field each)
	for m in sub_stats sub_rel sub_slot sub_worker; do
		influx_csv "SELECT seq FROM \"$m\" GROUP BY *" >"$out.$m"
	done
	influx_csv 'SELECT seq, seq_2, seq_3, seq_4, seq_5 FROM "pg_log" GROUP BY *' >"$out.pg_log"
	# a lock_wait point: the episode and its statements, a seq field each
	influx_csv 'SELECT seq, seq_query, seq_blocker_query FROM "lock_wait" GROUP BY *' >"$out.lock_wait"
	grep -q '^error' "$out".* && fail "InfluxDB query error: $(grep -h '^error' -A1 "$out".* | head -3)"
	python3 - "$out" <<'PY'
import csv, re, sys
out = sys.argv[1]
def tags(s):
    d = {}
    for kv in re.split(r'(?<!\\),', s) if s else []:
        k, _, v = kv.partition('=')
        d[k] = v.replace('\\ ', ' ').replace('\\,', ',').replace('\\=', '=')
    return d
with open(out, 'w') as o:
    for m in ('pg_locks', 'pg_activity', 'pg_blocking', 'hum', 'service',
              'replication', 'labsup', 'events', 'sub_stats', 'sub_rel',
              'sub_slot', 'sub_worker', 'pg_log', 'lock_wait'):
        with open(out + '.' + m, newline='') as f:
            for row in csv.reader(f):
                if not row or row[0] == 'name':
                    continue
                t = tags(row[1])
                if m == 'pg_log':
                    for part in row[3:8]:
                        if part != '':
                            o.write('logs\t%s\n' % part)
                    continue
                if m == 'lock_wait':
                    for part in row[3:6]:
                        if part != '':
                            o.write('sampler %s\t%s\n' % (t.get('node', '?'), part))
                    continue
                seq = row[3]
                if seq == '':
                    continue
                if m in ('pg_locks', 'pg_activity', 'pg_blocking'):
                    lane = 'sampler ' + t.get('node', '?')
                elif m.startswith('sub_'):
                    lane = 'replication'
                elif m == 'replication':
                    lane = ('sampler ' + t.get('node', '?')
                            if row[4] in ('', '-1') else 'replication')
                elif m == 'hum':
                    # issue 15: [hum NAME]'s clients are "hum NAME.N"
                    g = t.get('group', 'default')
                    lane = 'hum ' + ('' if g == 'default' else g + '.') + \
                        t.get('client', '?')
                elif m == 'service':
                    lane = 'container'
                elif m == 'labsup':
                    writer = row[4] == '' and row[5] != ''
                    lane = 'writer' if writer else t.get('worker', '?')
                else:
                    k, text = t.get('kind', ''), row[4]
                    if k in ('node_lost', 'node_back'):
                        mm = re.match(r'(\S+) (unreachable|is reachable)', text)
                        lane = ('sampler ' + mm.group(1)) if mm else 'container'
                    elif k == 'repair':
                        lane = 'replication'
                    elif k in ('chaos', 'profile'):
                        # "hum GROUP ...": client 1 of the group
                        mm = re.match(r'hum (\S+) ', text)
                        g = mm.group(1) if mm else 'default'
                        lane = 'hum ' + ('' if g == 'default' else g + '.') + '1'
                    elif k == 'pg_log':
                        lane = 'logs'
                    else:
                        lane = 'supervisor'
                o.write('%s\t%s\n' % (lane, seq))
PY
}

# check_lanes LANES_FILE SEQS_FILE: every lane's seqs in InfluxDB include
# exactly 0..HEAD-1 (HEAD from LANES_FILE, a snapshot; LANES_FILE.now is a
# later one that bounds what may be there).  Prints one line per lane; returns 1 naming the lanes
# with missing or unexpected seqs.
check_lanes() {
	python3 - "$1" "$2" <<'PY'
import sys
heads, now = {}, {}
for line in open(sys.argv[1]):
    slot, name, kind, pid, head, tail, dropped = line.rstrip('\n').split('\t')
    heads[name] = (int(head), int(tail), int(dropped))
for line in open(sys.argv[1] + '.now'):
    f = line.rstrip('\n').split('\t')
    now[f[1]] = int(f[4])
seen = {}
for line in open(sys.argv[2]):
    lane, seq = line.rstrip('\n').split('\t')
    seen.setdefault(lane, set()).add(int(seq))
bad = 0
for name, (head, tail, dropped) in sorted(heads.items()):
    got = seen.pop(name, set())
    inside = len([x for x in got if x < head])
    missing = sorted(set(range(head)) - got)
    # newer records (produced after the snapshot) may be there too, but
    # never beyond what the lane has produced by now
    extra = sorted(s for s in got if s >= now.get(name, head))
    state = 'ok' if not missing and not extra else 'LOSS'
    print('lane %-14s produced %7d dropped %5d, of those in InfluxDB %7d  %s'
          % (name, head, dropped, inside, state))
    if missing:
        bad = 1
        print('   missing %d seqs, first %s' % (len(missing), missing[:10]))
    if extra:
        bad = 1
        print('   %d seqs beyond the lane head, first %s' % (len(extra), extra[:10]))
for name, got in seen.items():
    print('points attributed to unknown lane %r: %d' % (name, len(got)))
sys.exit(bad)
PY
}

# account STEP: snapshot the lanes, wait until the writer committed all
# they held, then compare every lane with InfluxDB.
account() {
	local snap="$LAB_DIR/lanes.$1"
	lanes >"$snap" || fail "$1: cannot read the lanes"
	wait_committed 240 "$snap" || fail "$1: the writer did not commit what the lanes held: $(paste "$snap" "$snap.now" | cut -f2,5,6,12,13)"
	influx_lane_seqs "$LAB_DIR/seqs.$1"
	lanes >"$snap.now"
	check_lanes "$snap" "$LAB_DIR/seqs.$1" ||
		fail "$1: samples committed to a lane are missing from InfluxDB (see LOSS above)"
}
