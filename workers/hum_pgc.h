/*
 * hum_pgc.h: libpq helpers shared by the hum and sampler workers: connect
 * and wait for results without ever blocking longer than 100 ms, so a
 * worker notices worker_stop in time even when a node hangs or a
 * transaction waits on a lock.
 */
#ifndef LABSUP_HUM_PGC_H
#define LABSUP_HUM_PGC_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* Called while waiting; returns when (CLOCK_MONOTONIC ns) to call again. */
typedef int64_t (*pgc_idle_fn)(void *arg);

enum pgc_wait_result {
	PGC_READY = 0,	 /* PQgetResult will not block */
	PGC_BROKEN = -1, /* connection lost */
	PGC_STOPPED = -2, /* worker_stop was set */
	PGC_TIMEOUT = -3, /* deadline passed */
};

/*
 * Connect without blocking for more than 100 ms at a time; gives up after
 * timeout_ms.  Returns the connection, or NULL with a one-line reason in
 * err (or when worker_stop is set).
 */
PGconn *pgc_connect(const char *conninfo, int timeout_ms, char *err,
    size_t errlen);

/*
 * Wait until a result can be read without blocking.  deadline is a
 * CLOCK_MONOTONIC ns (0 = none); idle (may be NULL) runs at least every
 * 100 ms and when it asks to.
 */
int pgc_wait(PGconn *conn, int64_t deadline, pgc_idle_fn idle, void *arg);

/* The first line of the connection's error message, for status lines. */
const char *pgc_error(PGconn *conn, char *buf, size_t len);

/* SQLSTATE of a result, "" when there is none. */
const char *pgc_sqlstate(const PGresult *res);

#endif
