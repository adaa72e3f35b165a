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
		[REC_LOCK_WAIT] = "lock_wait",
		[REC_LOCK_WAIT_TEXT] = "lock_wait",
	};

	if (kind <= REC_NONE || kind >= REC_KIND_MAX)
		return NULL;
	return names[kind];
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
