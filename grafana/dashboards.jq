# dashboards.jq: the source of grafana/dashboards/*.json.  Run
# grafana/mkdash.sh after editing; tests/integration/60_dashboards.sh fails
# when the JSON files and this source disagree, and runs every query here
# against a real lab's InfluxDB.
#
# Every query is raw InfluxQL on the datasource uid "labsup" (provisioned by
# grafana/provisioning/datasources), names only what the README's
# Measurements table documents, and filters nodes with /^$node$/ so the
# multi-value `node` variable works.  Identifiers are quoted: `replication`
# is an InfluxQL keyword.

def ds: { type: "influxdb", uid: "labsup" };

def target($q; $alias; $fmt):
	{ refId: "A", datasource: ds, rawQuery: true, query: $q,
	  resultFormat: $fmt, alias: $alias };

# A time series panel; width 12 (two a row) unless told.
def ts($title; $unit; $q; $alias; $stack):
	{ type: "timeseries", title: $title, datasource: ds,
	  fieldConfig: { defaults: { unit: $unit, min: 0,
	    custom: { drawStyle: "line", lineWidth: 1, fillOpacity: 10,
	      showPoints: "never", spanNulls: true,
	      stacking: { mode: (if $stack then "normal" else "none" end),
	        group: "A" } } }, overrides: [] },
	  options: { legend: { displayMode: "list", placement: "bottom",
	    showLegend: true }, tooltip: { mode: "multi", sort: "desc" } },
	  targets: [target($q; $alias; "time_series")] };
def ts($title; $unit; $q; $alias): ts($title; $unit; $q; $alias; false);

def table($title; $q):
	{ type: "table", title: $title, datasource: ds,
	  fieldConfig: { defaults: {}, overrides: [] },
	  options: { showHeader: true },
	  targets: [target($q; ""; "table")] };

# Lays panels out two a row and numbers them.
def layout:
	to_entries | map(.key as $i | .value + { id: ($i + 1),
	  gridPos: { h: 8, w: 12, x: (($i % 2) * 12),
	    y: (($i / 2 | floor) * 8) } });

def node_var:
	{ name: "node", label: "node", type: "query", datasource: ds,
	  query: "SHOW TAG VALUES FROM \"pg_blocking\" WITH KEY = \"node\"",
	  definition: "SHOW TAG VALUES FROM \"pg_blocking\" WITH KEY = \"node\"",
	  multi: true, includeAll: true, refresh: 2, sort: 1,
	  current: { selected: true, text: ["All"], value: ["$__all"] },
	  options: [] };

# pg_activity has one point per (node, state, wait event) and sampler
# tick, all of a tick sharing its timestamp: summing per tick needs the
# sampler's interval ([sampler] interval_ms), which the dashboard cannot
# know.  Set it here when the lab samples at another rate.
def tick_var:
	{ name: "tick", label: "sampler interval", type: "custom",
	  query: "10ms,100ms,1s", multi: false, includeAll: false,
	  current: { selected: true, text: "100ms", value: "100ms" },
	  options: [
	    { selected: false, text: "10ms", value: "10ms" },
	    { selected: true, text: "100ms", value: "100ms" },
	    { selected: false, text: "1s", value: "1s" } ] };

def events_annotation:
	{ name: "labsup events", datasource: ds, enable: true,
	  iconColor: "#FF9830",
	  query: "SELECT \"text\", \"kind\" FROM \"events\" WHERE $timeFilter",
	  textColumn: "text", tagsColumn: "kind", titleColumn: "kind" };

def dashboard($slug; $title; $vars; $panels):
	{ file: ($slug + ".json"), dash: {
	  uid: ("labsup-" + $slug), title: ("labsup " + $title),
	  tags: ["labsup"], timezone: "browser", editable: true,
	  schemaVersion: 39, version: 1, refresh: "5s",
	  time: { from: "now-15m", to: "now" },
	  links: [{ title: "labsup", type: "dashboards", tags: ["labsup"],
	    asDropdown: false, includeVars: true, keepTime: true }],
	  templating: { list: $vars },
	  annotations: { list: [
	    { builtIn: 1, name: "Annotations & Alerts", enable: true,
	      hide: true, iconColor: "rgba(0, 211, 255, 1)", type: "dashboard",
	      datasource: { type: "grafana", uid: "-- Grafana --" } },
	    events_annotation ] },
	  panels: ($panels | layout) } };

def nodes: "\"node\" =~ /^$node$/ AND $timeFilter";

[
dashboard("locks"; "Locks"; [node_var]; [
	ts("Granted locks by mode and locktype"; "short";
	   "SELECT mean(\"count\") FROM \"pg_locks\" WHERE \"granted\" = 'true' AND \(nodes) GROUP BY time($__interval), \"node\", \"mode\", \"locktype\" fill(none)";
	   "$tag_node $tag_mode $tag_locktype"; true),
	ts("Waiting locks by mode and locktype"; "short";
	   "SELECT mean(\"count\") FROM \"pg_locks\" WHERE \"granted\" = 'false' AND \(nodes) GROUP BY time($__interval), \"node\", \"mode\", \"locktype\" fill(none)";
	   "$tag_node $tag_mode $tag_locktype"; true),
	ts("Blocking pairs and waiting backends"; "short";
	   "SELECT max(\"pairs\") AS \"pairs\", max(\"waiting\") AS \"waiting\" FROM \"pg_blocking\" WHERE \(nodes) GROUP BY time($__interval), \"node\" fill(none)";
	   "$tag_node $col"),
	ts("Longest lock wait"; "ms";
	   "SELECT max(\"longest_wait_ms\") FROM \"pg_blocking\" WHERE \(nodes) GROUP BY time($__interval), \"node\" fill(none)";
	   "$tag_node"),
	ts("Deadlocks (new in each interval)"; "short";
	   "SELECT non_negative_difference(max(\"deadlocks\")) FROM \"pg_blocking\" WHERE \(nodes) GROUP BY time($__interval), \"node\" fill(none)";
	   "$tag_node"),
	ts("Deadlocks since the node started"; "short";
	   "SELECT max(\"deadlocks\") FROM \"pg_blocking\" WHERE \(nodes) GROUP BY time($__interval), \"node\" fill(none)";
	   "$tag_node")
]),
dashboard("activity"; "Activity"; [node_var, tick_var]; [
	ts("Backends by state"; "short";
	   "SELECT mean(\"n\") FROM (SELECT sum(\"count\") AS \"n\" FROM \"pg_activity\" WHERE \(nodes) GROUP BY time($tick), \"node\", \"state\" fill(none)) WHERE $timeFilter GROUP BY time($__interval), \"node\", \"state\" fill(none)";
	   "$tag_node $tag_state"; true),
	ts("Backends by wait event"; "short";
	   "SELECT mean(\"count\") FROM \"pg_activity\" WHERE \"wait_event\" != '' AND \(nodes) GROUP BY time($__interval), \"node\", \"wait_event_type\", \"wait_event\" fill(none)";
	   "$tag_node $tag_wait_event_type/$tag_wait_event"; true),
	ts("Active backends"; "short";
	   "SELECT mean(\"n\") FROM (SELECT sum(\"count\") AS \"n\" FROM \"pg_activity\" WHERE \"state\" = 'active' AND \(nodes) GROUP BY time($tick), \"node\" fill(none)) WHERE $timeFilter GROUP BY time($__interval), \"node\" fill(none)";
	   "$tag_node"),
	ts("Idle in transaction"; "short";
	   "SELECT mean(\"n\") FROM (SELECT sum(\"count\") AS \"n\" FROM \"pg_activity\" WHERE \"state\" = 'idle in transaction' AND \(nodes) GROUP BY time($tick), \"node\" fill(none)) WHERE $timeFilter GROUP BY time($__interval), \"node\" fill(none)";
	   "$tag_node"),
	ts("Backends waiting on a lock, by wait event"; "short";
	   "SELECT mean(\"count\") FROM \"pg_activity\" WHERE \"wait_event_type\" = 'Lock' AND \(nodes) GROUP BY time($__interval), \"node\", \"wait_event\" fill(none)";
	   "$tag_node $tag_wait_event"; true)
]),
dashboard("replication"; "Replication"; [node_var]; [
	ts("Apply lag (heartbeat age on the subscriber)"; "ms";
	   "SELECT max(\"apply_lag_ms\") FROM \"replication\" WHERE \(nodes) GROUP BY time($__interval), \"node\", \"subscription\" fill(none)";
	   "$tag_node $tag_subscription"),
	ts("Slot lag on the publisher"; "bytes";
	   "SELECT max(\"lag_bytes\") FROM \"replication\" WHERE \"lag_bytes\" >= 0 AND \(nodes) GROUP BY time($__interval), \"node\", \"subscription\" fill(none)";
	   "$tag_node $tag_subscription"),
	ts("Subscription state (samples per state)"; "short";
	   "SELECT count(\"apply_lag_ms\") FROM \"replication\" WHERE \"state\" != '' AND \(nodes) GROUP BY time($__interval), \"node\", \"subscription\", \"state\" fill(none)";
	   "$tag_node $tag_subscription $tag_state"; true),
	table("Subscriptions: last state seen and its apply lag";
	   "SELECT last(\"apply_lag_ms\") AS \"apply_lag_ms\" FROM \"replication\" WHERE \"state\" != '' AND \(nodes) GROUP BY \"node\", \"subscription\", \"state\"")
]),
dashboard("hum"; "Hum"; [node_var]; [
	ts("Throughput (committed transactions)"; "tps";
	   "SELECT sum(\"tx\") * 1000 / $__interval_ms FROM \"hum\" WHERE \(nodes) GROUP BY time($__interval), \"node\", \"client\" fill(none)";
	   "$tag_node client $tag_client"; true),
	ts("Errors by class"; "short";
	   "SELECT sum(\"err_serialization\") AS \"serialization\", sum(\"err_deadlock\") AS \"deadlock\", sum(\"err_other\") AS \"other\" FROM \"hum\" WHERE \(nodes) GROUP BY time($__interval), \"node\" fill(none)";
	   "$tag_node $col"; true),
	ts("Latency percentiles"; "ms";
	   "SELECT mean(\"latency_p50_ms\") AS \"p50\", max(\"latency_p99_ms\") AS \"p99\", max(\"latency_max_ms\") AS \"max\" FROM \"hum\" WHERE \(nodes) GROUP BY time($__interval), \"node\", \"client\" fill(none)";
	   "$tag_node client $tag_client $col"),
	ts("Schedule lag (how late transactions start)"; "ms";
	   "SELECT max(\"schedule_lag_ms\") FROM \"hum\" WHERE \(nodes) GROUP BY time($__interval), \"node\", \"client\" fill(none)";
	   "$tag_node client $tag_client"),
	ts("Reconnects"; "short";
	   "SELECT sum(\"reconnects\") FROM \"hum\" WHERE \(nodes) GROUP BY time($__interval), \"node\", \"client\" fill(none)";
	   "$tag_node client $tag_client")
]),
dashboard("lab"; "Lab"; [node_var]; [
	ts("Service CPU"; "percent";
	   "SELECT mean(\"cpu_pct\") FROM \"service\" WHERE $timeFilter GROUP BY time($__interval), \"service\" fill(none)";
	   "$tag_service"),
	ts("Service memory"; "bytes";
	   "SELECT mean(\"mem_bytes\") FROM \"service\" WHERE $timeFilter GROUP BY time($__interval), \"service\" fill(none)";
	   "$tag_service"),
	ts("Service network (docker backend)"; "Bps";
	   "SELECT non_negative_derivative(max(\"net_rx_bytes\"), 1s) AS \"rx\", non_negative_derivative(max(\"net_tx_bytes\"), 1s) AS \"tx\" FROM \"service\" WHERE $timeFilter GROUP BY time($__interval), \"service\" fill(none)";
	   "$tag_service $col"),
	ts("Services up"; "short";
	   "SELECT min(\"up\") FROM \"service\" WHERE $timeFilter GROUP BY time($__interval), \"service\" fill(none)";
	   "$tag_service"),
	ts("Writer throughput (points acknowledged by InfluxDB)"; "short";
	   "SELECT non_negative_derivative(max(\"points_written\"), 1s) FROM \"labsup\" WHERE \"worker\" = 'writer' AND $timeFilter GROUP BY time($__interval) fill(none)";
	   "points/s"),
	ts("Writer spool size"; "bytes";
	   "SELECT max(\"spool_bytes\") FROM \"labsup\" WHERE \"worker\" = 'writer' AND $timeFilter GROUP BY time($__interval) fill(none)";
	   "spool"),
	ts("Ring drops (cumulative, per lane)"; "short";
	   "SELECT max(\"ring_drops\") FROM \"labsup\" WHERE $timeFilter GROUP BY time($__interval), \"worker\" fill(none)";
	   "$tag_worker"),
	ts("Sampler deadline misses (new in each interval)"; "short";
	   "SELECT non_negative_difference(max(\"deadline_misses\")) FROM \"labsup\" WHERE \"worker\" =~ /^sampler / AND $timeFilter GROUP BY time($__interval), \"worker\" fill(none)";
	   "$tag_worker"),
	ts("Worker restarts (cumulative)"; "short";
	   "SELECT max(\"restarts\") FROM \"labsup\" WHERE $timeFilter GROUP BY time($__interval), \"worker\" fill(none)";
	   "$tag_worker")
]),
# issue 16: subscription health (read at 1 Hz) and the servers' logs.  Two
# a row: each subscription's lag beside what its apply worker waits on.
# $node filters the subscriber's side (sub_stats, sub_rel, apply and sync
# workers) and pg_log; the publisher's side (sub_slot, sender) is by
# subscription, whatever $node says.
dashboard("subscriptions"; "Subscriptions"; [node_var]; [
	ts("Apply lag (heartbeat), by subscription"; "ms";
	   "SELECT max(\"apply_lag_ms\") FROM \"replication\" WHERE \(nodes) GROUP BY time($__interval), \"subscription\" fill(none)";
	   "$tag_subscription"),
	ts("What the apply worker waits on (1 Hz samples)"; "short";
	   "SELECT count(\"pid\") FROM \"sub_worker\" WHERE \"role\" = 'apply' AND \(nodes) GROUP BY time($__interval), \"subscription\", \"wait_event_type\", \"wait_event\" fill(none)";
	   "$tag_subscription $tag_wait_event_type $tag_wait_event"; true),
	ts("Received but not yet reported (received_lsn - reported_lsn)"; "bytes";
	   "SELECT max(\"received_lsn\") - max(\"reported_lsn\") FROM \"sub_stats\" WHERE \(nodes) GROUP BY time($__interval), \"subscription\" fill(none)";
	   "$tag_subscription"),
	ts("Age of the last message sent / received"; "ms";
	   "SELECT max(\"send_age_ms\") AS \"send\", max(\"receipt_age_ms\") AS \"receipt\" FROM \"sub_stats\" WHERE \(nodes) GROUP BY time($__interval), \"subscription\" fill(none)";
	   "$tag_subscription $col"),
	ts("Apply and sync errors (cumulative)"; "short";
	   "SELECT max(\"apply_errors\") AS \"apply\", max(\"sync_errors\") AS \"sync\" FROM \"sub_stats\" WHERE \(nodes) GROUP BY time($__interval), \"subscription\" fill(none)";
	   "$tag_subscription $col"),
	ts("Enabled (0 = paused) and tables not ready"; "short";
	   "SELECT min(\"enabled\") AS \"enabled\", max(\"tables_not_ready\") AS \"not ready\" FROM \"sub_stats\" WHERE \(nodes) GROUP BY time($__interval), \"subscription\" fill(none)";
	   "$tag_subscription $col"),
	ts("Slot: WAL retained, and safe_wal_size when limited"; "bytes";
	   "SELECT max(\"retained_bytes\") AS \"retained\", min(\"safe_wal_size\") AS \"safe\" FROM \"sub_slot\" WHERE $timeFilter GROUP BY time($__interval), \"subscription\" fill(none)";
	   "$tag_subscription $col"),
	ts("What the walsender waits on (1 Hz samples)"; "short";
	   "SELECT count(\"pid\") FROM \"sub_worker\" WHERE \"role\" = 'sender' AND $timeFilter GROUP BY time($__interval), \"subscription\", \"wait_event_type\", \"wait_event\" fill(none)";
	   "$tag_subscription $tag_wait_event_type $tag_wait_event"; true),
	table("Slots: WAL status and walsender state (latest)";
	   "SELECT last(\"active\") AS \"active\", last(\"retained_bytes\") AS \"retained bytes\" FROM \"sub_slot\" WHERE $timeFilter GROUP BY \"subscription\", \"wal_status\", \"sender_state\""),
	table("Table sync states (latest)";
	   "SELECT last(\"state\") AS \"state\" FROM \"sub_rel\" WHERE \(nodes) GROUP BY \"node\", \"subscription\", \"table\""),
	ts("Server log: warnings and errors, by node and severity"; "short";
	   "SELECT count(\"message\") FROM \"pg_log\" WHERE \"severity\" =~ /^(WARNING|ERROR|FATAL|PANIC)$/ AND \(nodes) GROUP BY time($__interval), \"node\", \"severity\" fill(none)";
	   "$tag_node $tag_severity"; true),
	table("Server log (latest 200)";
	   "SELECT \"node\", \"severity\", \"sqlstate\", \"backend_type\", \"pid\", \"message\", \"message_2\" FROM \"pg_log\" WHERE \(nodes) ORDER BY time DESC LIMIT 200")
]),
dashboard("waits"; "Lock waits"; [node_var]; [
	table("Longest lock-wait episodes: who (pid) waited on whom (blocker)";
	   "SELECT top(\"duration_ms\", 20) AS \"duration_ms\", \"node\", \"pid\", \"blocker\", \"blockers\", \"target\", \"mode\", \"held\", \"blocker_idle_in_tx\", \"query\", \"blocker_query\" FROM \"lock_wait\" WHERE \"state\" = 'ended' AND \(nodes)"),
	ts("Longest episode ended in each interval"; "ms";
	   "SELECT max(\"duration_ms\") FROM \"lock_wait\" WHERE \"state\" = 'ended' AND \(nodes) GROUP BY time($__interval), \"node\" fill(none)";
	   "$tag_node"),
	ts("Episodes ended in each interval"; "short";
	   "SELECT count(\"duration_ms\") FROM \"lock_wait\" WHERE \"state\" = 'ended' AND \(nodes) GROUP BY time($__interval), \"node\" fill(none)";
	   "$tag_node"; true),
	ts("Episodes lasting a second and more, as they last (waiter pid)"; "ms";
	   "SELECT max(\"duration_ms\") FROM \"lock_wait\" WHERE \"state\" = 'waiting' AND \(nodes) GROUP BY time($__interval), \"node\", \"pid\" fill(none)";
	   "$tag_node pid $tag_pid")
])
]
