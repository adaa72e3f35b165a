/*
 * log.c: one-line log messages to stderr, which the daemon points at the
 * lab's log file: "<time> ident[pid]: level: message" there, "ident: level:
 * message" on a terminal.  The level is one word (info, warning, debug,
 * fatal) so the log can be grepped by severity.  log_warn and fatal add
 * strerror(errno); log_warnx and fatalx do not.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "labsup.h"

static char log_ident[48] = "labsup";
static bool log_fg = true;

void
log_init(const char *ident, bool foreground)
{
	log_fg = foreground;
	log_setident(ident);
}

void
log_setident(const char *ident)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
}

static void
vlog(const char *level, int errnum, const char *fmt, va_list ap)
{
	char msg[1024], stamp[32];
	struct timespec ts;
	struct tm tm;
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum != 0) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
	}
	if (log_fg && isatty(STDERR_FILENO)) {
		fprintf(stderr, "%s: %s%s\n", log_ident, level, msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %s[%d]: %s%s\n", stamp, ts.tv_nsec / 1000000,
	    log_ident, (int)getpid(), level, msg);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("info: ", 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (getenv("LABSUP_DEBUG") == NULL)
		return;
	va_start(ap, fmt);
	vlog("debug: ", 0, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vlog("warning: ", e, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning: ", 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vlog("fatal: ", e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal: ", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
