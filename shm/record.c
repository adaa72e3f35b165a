/*
 * record.c: the InfluxDB measurement each record kind becomes.  These names
 * are an interface: dashboards and users query them.
 */
#include <stddef.h>

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
		[REC_LINK] = "labsup",
	};

	if (kind <= REC_NONE || kind >= REC_KIND_MAX)
		return NULL;
	return names[kind];
}
