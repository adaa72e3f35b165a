/*
 * duration.c: the one duration syntax (duration.h).  Numbers are read
 * digit by digit, not with strtod: no exponents ("1e3s"), no signs, no
 * spaces, no locale, and a fraction is exact in ns.
 */
#include <stdio.h>
#include <string.h>

#include "duration.h"

static const struct {
	const char *name;
	int64_t ns;
} duration_units[] = {
	/* longest name first where one is the start of another */
	{ "ms", 1000000LL },
	{ "min", 60000000000LL },
	{ "s", 1000000000LL },
	{ "m", 60000000000LL },
	{ "h", 3600000000000LL },
	{ "d", 86400000000000LL },
	{ "w", 604800000000000LL },
};
#define DURATION_NUNITS (sizeof(duration_units) / sizeof(duration_units[0]))

/* The unit at s: its ns and name length, or 0 when there is none. */
static int64_t
duration_unit(const char *s, size_t *len)
{
	for (size_t i = 0; i < DURATION_NUNITS; i++) {
		size_t n = strlen(duration_units[i].name);

		if (strncmp(s, duration_units[i].name, n) == 0) {
			*len = n;
			return duration_units[i].ns;
		}
	}
	return 0;
}

int
duration_parse(const char *s, int64_t *ns)
{
	const char *start = s;
	int64_t total = 0;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		int64_t whole = 0, frac = 0, scale = 1, unit;
		size_t ulen = 0;

		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++) {
			whole = whole * 10 + (*s - '0');
			if (whole > DURATION_MAX_NS / 1000000)
				return -1;	/* longer than the max in ms */
		}
		if (*s == '.') {
			if (*++s < '0' || *s > '9')
				return -1;
			/* digits past ns are dropped, not rounded */
			for (; *s >= '0' && *s <= '9'; s++)
				if (scale < 1000000000) {
					frac = frac * 10 + (*s - '0');
					scale *= 10;
				}
		}
		if (*s == '\0' && strpbrk(start, "msinhdw") == NULL)
			unit = 1000000000LL;	/* a bare number: seconds */
		else if ((unit = duration_unit(s, &ulen)) == 0)
			return -1;
		s += ulen;
		if (whole > (DURATION_MAX_NS - total) / unit)
			return -1;
		total += whole * unit + frac * (unit / scale) +
		    frac * (unit % scale) / scale;
		if (total > DURATION_MAX_NS)
			return -1;
	}
	*ns = total;
	return 0;
}

void
duration_format(int64_t ns, char *buf, size_t len)
{
	static const struct { const char *name; int64_t ns; } parts[] = {
		{ "d", 86400000000000LL }, { "h", 3600000000000LL },
		{ "m", 60000000000LL }, { "s", 1000000000LL },
		{ "ms", 1000000LL },
	};
	size_t used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (ns <= 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		int64_t n = ns / parts[i].ns;

		if (n == 0)
			continue;
		ns -= n * parts[i].ns;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used,
			    "%lld%s", (long long)n, parts[i].name);
	}
	if (used == 0)			/* below 1 ms */
		snprintf(buf, len, "0.%09llds", (long long)ns);
}

int
duration_arg(const char *what, const char *s, int64_t min_ns,
    int64_t max_ns, int64_t *ns, char *err, size_t errlen)
{
	char lim[32];

	if (duration_parse(s, ns) == -1) {
		snprintf(err, errlen, "%s: expected " DURATION_FORMS ", not "
		    "\"%s\"", what, s != NULL ? s : "");
		return -1;
	}
	if (*ns < min_ns) {
		duration_format(min_ns, lim, sizeof(lim));
		snprintf(err, errlen, "%s: \"%s\" is too short: %s%s", what,
		    s, min_ns <= 1 ? "more than 0" : "at least ",
		    min_ns <= 1 ? "" : lim);
		return -1;
	}
	if (*ns > max_ns) {
		duration_format(max_ns, lim, sizeof(lim));
		snprintf(err, errlen, "%s: \"%s\" is too long: %s at most",
		    what, s, lim);
		return -1;
	}
	return 0;
}
