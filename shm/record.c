/*
 * record.c: the InfluxDB measurement each record kind becomes.  These names
 * are an interface: dashboards and users query them.
 */
#include <stddef.h>
#include <string.h>

#include "record.h"

const char *
rec_measurement(int kind)
{
	static const char *const names[REC_KIND_MAX] = {
		[REC_LOCKS] = "pg_locks",
		[REC_ACTIVITY] = "pg_activity",
		[REC_BLOCKING] = "pg_blocking",
		[REC_REPLICATION] = "replication",
		[REC_HUM] = "hum",
		[REC_SERVICE] = "service",
		[REC_LABSUP] = "labsup",
		[REC_EVENT] = "events",
		[REC_TEST] = "labsup_test",
		[REC_SUB_STATS] = "sub_stats",
		[REC_SUB_REL] = "sub_rel",
		[REC_SUB_SLOT] = "sub_slot",
		[REC_SUB_WORKER] = "sub_worker",
		[REC_PG_LOG] = "pg_log",
		[REC_LOCK_WAIT] = "lock_wait",
		[REC_LOCK_WAIT_TEXT] = "lock_wait",
		[REC_LINK] = "labsup",
	};

	if (kind <= REC_NONE || kind >= REC_KIND_MAX)
		return NULL;
	return names[kind];
}

/* issue 16: the pg_log codes (record.h), by index. */
static const char *const pglog_severities[PGLOG_NSEV] = {
	[PGLOG_NONE] = "", [PGLOG_DEBUG] = "DEBUG", [PGLOG_LOG] = "LOG",
	[PGLOG_INFO] = "INFO", [PGLOG_NOTICE] = "NOTICE",
	[PGLOG_WARNING] = "WARNING", [PGLOG_ERROR] = "ERROR",
	[PGLOG_FATAL] = "FATAL", [PGLOG_PANIC] = "PANIC",
};

static const char *const pglog_btypes[PGB_NTYPES] = {
	[PGB_OTHER] = "other", [PGB_CLIENT] = "client backend",
	[PGB_POSTMASTER] = "postmaster", [PGB_CHECKPOINTER] = "checkpointer",
	[PGB_APPLY] = "logical replication worker",
	[PGB_LAUNCHER] = "logical replication launcher",
	[PGB_WALSENDER] = "walsender", [PGB_AUTOVACUUM] = "autovacuum worker",
	[PGB_AUTOVACUUM_LAUNCHER] = "autovacuum launcher",
	[PGB_BGWRITER] = "background writer", [PGB_WALWRITER] = "walwriter",
	[PGB_STARTUP] = "startup", [PGB_PARALLEL] = "parallel worker",
};

const char *
pglog_severity(int code)
{
	return code > 0 && code < PGLOG_NSEV ? pglog_severities[code] : "";
}

const char *
pglog_btype(int code)
{
	return code > 0 && code < PGB_NTYPES ? pglog_btypes[code] : "other";
}

/* Index of name in a table of n names, or fallback. */
static int
pglog_code(const char *const *names, int n, const char *name, int fallback)
{
	for (int i = 1; i < n; i++)
		if (!strcmp(names[i], name))
			return i;
	/* DEBUG1..DEBUG5 are all DEBUG */
	if (names == pglog_severities && !strncmp(name, "DEBUG", 5))
		return PGLOG_DEBUG;
	return fallback;
}

int
pglog_severity_code(const char *name)
{
	return pglog_code(pglog_severities, PGLOG_NSEV, name, PGLOG_NONE);
}

int
pglog_btype_code(const char *name)
{
	return pglog_code(pglog_btypes, PGB_NTYPES, name, PGB_OTHER);
}

/* In order of strength, as PostgreSQL's lock.h numbers them. */
static const char *const rec_lockmodes[] = {
	"", "AccessShareLock", "RowShareLock", "RowExclusiveLock",
	"ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock",
	"ExclusiveLock", "AccessExclusiveLock",
};

/* As PostgreSQL's LockTagTypeNames. */
static const char *const rec_locktypes[] = {
	"", "relation", "extend", "frozenid", "page", "tuple",
	"transactionid", "virtualxid", "spectoken", "object", "userlock",
	"advisory",
};

#define REC_NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int
rec_code(const char *const *names, int n, const char *name)
{
	for (int i = 1; name != NULL && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return 0;
}

int
rec_lockmode_code(const char *name)
{
	return rec_code(rec_lockmodes, REC_NELEM(rec_lockmodes), name);
}

const char *
rec_lockmode_name(int code)
{
	return code > 0 && code < REC_NELEM(rec_lockmodes) ?
	    rec_lockmodes[code] : "";
}

int
rec_locktype_code(const char *name)
{
	return rec_code(rec_locktypes, REC_NELEM(rec_locktypes), name);
}

const char *
rec_locktype_name(int code)
{
	return code > 0 && code < REC_NELEM(rec_locktypes) ?
	    rec_locktypes[code] : "";
}
