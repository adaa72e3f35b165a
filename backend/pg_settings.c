/*
 * pg_settings.c: the one table of PostgreSQL server settings both backends
 * start their servers with (see pg_settings.h), and its postgresql.conf
 * form.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pg_settings.h"
#include "../lib/config.h"

const struct pg_setting pg_settings[] = {
	{ "wal_level", "logical",
	    "publications decode the WAL: logical replication needs it" },
	{ "max_wal_senders", "20",
	    "one per subscription and per table-sync worker on a publisher" },
	{ "max_replication_slots", "20",
	    "a slot per subscription, plus one per table sync in progress" },
	{ "max_worker_processes", "24",
	    "the launcher, apply and sync workers all come out of this pool" },
	{ "max_logical_replication_workers", "12",
	    "apply plus table-sync workers of a subscriber's subscriptions" },
	{ "max_sync_workers_per_subscription", "4",
	    "a new subscription copies up to four tables at once" },
	{ "password_encryption", "scram-sha-256",
	    "what pg_hba.conf asks for: passwords set on a server are SCRAM" },
	{ "jit", "off",
	    "short lab statements: compiling them costs more than it saves" },
	/* issue 16: server logs the logs worker follows (workers/pglog.h) */
	{ "logging_collector", "on", "jsonlog is written by the collector" },
	{ "log_destination", "jsonlog",
	    "one JSON object a line: no log_line_prefix parsing" },
	{ "log_directory", "log", "in the data directory (docker.c sets a "
	    "directory the host sees)" },
	{ "log_filename", "postgresql-%Y%m%d-%H%M%S.log",
	    "named by start time: name order is time order (.json for jsonlog)" },
	{ "log_file_mode", "0640", "labsup logs reads them as the server's "
	    "group too" },
	{ "log_timezone", "UTC", "one zone the parser knows, on every node" },
	{ "log_lock_waits", "on",
	    "a lock wait longer than deadlock_timeout is logged" },
	{ "log_checkpoints", "on", "checkpoints are pg_log lines" },
	{ "compute_query_id", "on",
	    "lock-wait episodes name each side's statement by its query_id" },
};

const size_t pg_nsettings = sizeof(pg_settings) / sizeof(pg_settings[0]);

/* postgresql.conf takes a bare word or number; anything else is quoted. */
static bool
pg_setting_bare(const char *value)
{
	return value[0] != '\0' && strspn(value, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") == strlen(value);
}

/*
 * issue 15: a node's own settings ([node] settings), after everything
 * else, so they win; values are always quoted ('' for a quote).
 */
int
pg_settings_user_conf(const struct node_cfg *node, char *buf, size_t len)
{
	const char *p = node->settings;
	char name[80], value[CFG_STR * 4];
	size_t used = strlen(buf);

	if (p[0] != '\0') {
		int n = snprintf(buf + used, len - used, "# [node %s] settings\n",
		    node->name);
		if (n < 0 || (size_t)n >= len - used)
			return -1;
		used += (size_t)n;
	}
	while (config_setting_next(&p, name, sizeof(name), value,
	    sizeof(value)) == 1) {
		int n = snprintf(buf + used, len - used, "%s = '", name);
		if (n < 0 || (size_t)n >= len - used)
			return -1;
		used += (size_t)n;
		for (const char *v = value; *v != '\0'; v++) {
			if (used + 3 >= len)
				return -1;
			if (*v == '\'')
				buf[used++] = '\'';
			buf[used++] = *v;
		}
		if (used + 3 >= len)
			return -1;
		buf[used++] = '\'';
		buf[used++] = '\n';
		buf[used] = '\0';
	}
	return 0;
}

int
pg_settings_conf(char *buf, size_t len)
{
	size_t used = strlen(buf);

	for (size_t i = 0; i < pg_nsettings; i++) {
		const struct pg_setting *s = &pg_settings[i];
		const char *q = pg_setting_bare(s->value) ? "" : "'";
		int n = snprintf(buf + used, len - used, "%s = %s%s%s\n",
		    s->name, q, s->value, q);

		if (n < 0 || (size_t)n >= len - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}
