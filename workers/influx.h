/*
 * influx.h: the writer's HTTP client for InfluxDB (libcurl, one kept-alive
 * connection).  Posts line protocol to 1.x /write or 2.x /api/v2/write and
 * sorts the answer into what the writer should do next.  Secrets come from
 * files or the environment, never from the command line.
 */
#ifndef LABSUP_INFLUX_H
#define LABSUP_INFLUX_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "../lib/config.h"

enum influx_result {
	INFLUX_OK = 0,	/* 2xx: the points are stored */
	INFLUX_RETRY,	/* no answer, 5xx or 429: try again later */
	INFLUX_REJECT,	/* 4xx (not 429): the batch will never go in */
	INFLUX_NODB,	/* 1.x: database not found */
};

struct influx {
	void *curl;		/* CURL * */
	void *headers;		/* struct curl_slist * */
	void *zs;		/* z_stream * for gzip, reused */
	int version;
	char write_url[512];
	char query_url[512];
	char database[64];	/* 1.x: for CREATE DATABASE */
	char user[64];
	char password[256];
	char token[512];
	long timeout_ms;
	/*
	 * When *cancel turns non-zero (worker_stop), a request still running
	 * a second later is abandoned: a hung InfluxDB must not hold up a
	 * stop for the whole timeout.  NULL: run to the timeout.
	 */
	volatile sig_atomic_t *cancel;
	long long cancel_seen_ns;
	/* about the last request */
	long status;		/* HTTP status, 0 when none */
	int retry_after_s;	/* Retry-After, -1 when absent */
	char message[512];	/* InfluxDB's error, or curl's */
	char body[1024];	/* start of the response body */
	size_t body_len;
	/* gzip output, reused */
	unsigned char *gz;
	size_t gz_cap;
};

/*
 * Set up from cfg (URL, database or org/bucket, credentials read from
 * password_file, token_file or the token_env variable).  Returns 0, or -1
 * with a message in err (a config problem: do not retry).
 */
int influx_init(struct influx *ix, const struct config *cfg, char *err,
    size_t errlen);
void influx_free(struct influx *ix);

/*
 * gzip len bytes at data into the client's reusable buffer.  Returns the
 * compressed size (*out points at it), or 0 when compression failed.
 */
size_t influx_gzip(struct influx *ix, const void *data, size_t len,
    const void **out);

/*
 * POST a body (gzip'd when gzip) to the write endpoint, giving up after
 * timeout_ms (0: the configured timeout).  Returns enum influx_result;
 * ix->status, ix->message and ix->retry_after_s describe the answer.
 */
int influx_write(struct influx *ix, const void *data, size_t len, bool gzip,
    long timeout_ms);

/*
 * If the header line p (n bytes, as libcurl hands it over) is "name: v"
 * (name in any case), v without surrounding blanks into buf.
 */
bool influx_header_value(const char *p, size_t n, const char *name,
    char *buf, size_t len);

/* 1.x: CREATE DATABASE for the configured database.  0 or -1. */
int influx_create_db(struct influx *ix);

/*
 * Run one InfluxQL query (times in ms since the epoch) and return the
 * whole JSON answer (free it), or NULL with ix->message saying why.
 */
char *influx_select(struct influx *ix, const struct config *cfg,
    const char *q);

#endif
