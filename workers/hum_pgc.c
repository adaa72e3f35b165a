/*
 * hum_pgc.c: libpq helpers shared by hum and sampler.  Everything waits in
 * poll() slices of at most 100 ms so worker_stop is honoured promptly; the
 * workers own their connections, this file only drives them.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "worker.h"
#include "hum_pgc.h"

#define PGC_SLICE_NS 100000000LL

static int
pgc_poll(int fd, short events, int64_t until)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left = until - mono_ns();
	int ms;

	if (left < 0)
		left = 0;
	if (left > PGC_SLICE_NS)
		left = PGC_SLICE_NS;
	/* round up so we do not spin on sub-millisecond remainders */
	ms = (int)((left + 999999) / 1000000);
	if (poll(&pfd, 1, ms) == -1 && errno != EINTR)
		return -1;
	return 0;
}

const char *
pgc_error(PGconn *conn, char *buf, size_t len)
{
	const char *m = conn != NULL ? PQerrorMessage(conn) : "out of memory";
	size_t n = strcspn(m, "\n");

	if (n >= len)
		n = len - 1;
	memcpy(buf, m, n);
	buf[n] = '\0';
	return buf;
}

const char *
pgc_sqlstate(const PGresult *res)
{
	const char *s = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s != NULL ? s : "";
}

PGconn *
pgc_connect(const char *conninfo, int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = mono_ns() + (int64_t)timeout_ms * 1000000;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	PGconn *conn = PQconnectStart(conninfo);

	if (conn == NULL || PQstatus(conn) == CONNECTION_BAD) {
		pgc_error(conn, err, errlen);
		PQfinish(conn);
		return NULL;
	}
	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED) {
			pgc_error(conn, err, errlen);
			PQfinish(conn);
			return NULL;
		}
		if (worker_stop || mono_ns() >= deadline) {
			snprintf(err, errlen, worker_stop ? "stopping" :
			    "timed out after %d ms", timeout_ms);
			PQfinish(conn);
			return NULL;
		}
		pgc_poll(PQsocket(conn), st == PGRES_POLLING_READING ?
		    POLLIN : POLLOUT, deadline);
		st = PQconnectPoll(conn);
	}
	return conn;
}

int
pgc_wait(PGconn *conn, int64_t deadline, pgc_idle_fn idle, void *arg)
{
	int64_t next_idle = idle != NULL ? mono_ns() : 0;

	for (;;) {
		int64_t now, until;

		if (PQconsumeInput(conn) == 0)
			return PGC_BROKEN;
		if (!PQisBusy(conn))
			return PGC_READY;
		now = mono_ns();
		if (idle != NULL && now >= next_idle)
			next_idle = idle(arg);
		if (worker_stop)
			return PGC_STOPPED;
		if (deadline != 0 && now >= deadline)
			return PGC_TIMEOUT;
		until = now + PGC_SLICE_NS;
		if (deadline != 0 && deadline < until)
			until = deadline;
		if (idle != NULL && next_idle < until)
			until = next_idle;
		if (pgc_poll(PQsocket(conn), POLLIN, until) == -1)
			return PGC_BROKEN;
	}
}
