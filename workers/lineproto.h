/*
 * lineproto.h: InfluxDB line protocol for the writer.  Turns one record
 * into one line; lp_escape() is the only place that knows the escaping
 * rules.  Pure code: no I/O, no clock, so it is unit-tested byte for byte.
 */
#ifndef LABSUP_LINEPROTO_H
#define LABSUP_LINEPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "../shm/record.h"

/*
 * An int64 field holding LP_ABSENT is not written at all: the writer uses
 * it for `labsup` records that carry only some figures, so they do not
 * overwrite a worker's own figures with zeros.
 */
#define LP_ABSENT REC_ABSENT

/* Room one record can ever need, escaping included (every char doubled). */
#define LP_LINE_MAX 1024

/* Where a string goes: each place has its own special characters. */
enum lp_ctx {
	LP_MEASUREMENT,	/* comma, space */
	LP_NAME,	/* tag keys, tag values, field keys: comma, =, space */
	LP_STRING,	/* string field values, inside quotes: ", \ */
};

/* A growable output buffer. */
struct lp_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Make room for more bytes; -1 (errno ENOMEM) when out of memory. */
int lp_reserve(struct lp_buf *b, size_t more);
void lp_free(struct lp_buf *b);

/*
 * Escape n bytes of src for ctx into dst, which must hold 2 * n bytes.
 * Returns the bytes written.  Control characters (newline, tab, ...) can
 * not be written in line protocol at all and become a space.  A backslash
 * in a name is kept, except where InfluxDB 1.x would read it as escaping
 * the next separator (before a special character or at the end): there it
 * becomes '/', since 1.x has no way to write it.
 */
size_t lp_escape(char *dst, const char *src, size_t n, int ctx);

/*
 * Append the line for *r (with its trailing newline) to b.  Returns 0, 1
 * when the record kind has no measurement (nothing appended), or -1 when
 * out of memory.  Empty string tags are omitted (InfluxDB rejects empty
 * tag values); non-finite floats are omitted; the record's seq is always
 * the integer field `seq` (for part n > 0 of a pg_log line `seq_<n+1>`:
 * record.h); ts <= 0 leaves the timestamp to InfluxDB.
 */
int lp_format(struct lp_buf *b, const struct record *r);

#endif
