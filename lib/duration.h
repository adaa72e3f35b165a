/*
 * duration.h: the one duration syntax of every command and scenario
 * (`labsup logs --since`, `report --since/--from now-D`, `waits --since`,
 * scenario steps): one or more of a number and a unit, the number with an
 * optional fraction (1.5s), the units ms, s, m or min, h, d and w, combined
 * in any order as in 1h30m; a bare number is seconds.  Never negative,
 * never more than DURATION_MAX_NS (which also keeps ns in an int64).
 */
#ifndef LABSUP_DURATION_H
#define LABSUP_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define DURATION_MAX_NS (366LL * 86400 * 1000000000)	/* a lab's year */

/* What the error messages call a duration: the same everywhere. */
#define DURATION_FORMS "a duration such as 500ms, 10s, 5m, 2h or 1d " \
    "(units ms, s, m or min, h, d, w, combined as in 1h30m; a bare " \
    "number is seconds)"

/* s as ns into *ns; 0, or -1 when s is not a duration (or too long). */
int duration_parse(const char *s, int64_t *ns);

/*
 * duration_parse for an argument or a word of a file: s must be a
 * duration from min_ns to max_ns.  0, or -1 with err set to a one-line
 * "what: expected DURATION_FORMS, not "s"" (or, for a duration out of
 * the range, what is allowed).
 */
int duration_arg(const char *what, const char *s, int64_t min_ns,
    int64_t max_ns, int64_t *ns, char *err, size_t errlen);

/* ns as duration text ("1h30m"), to the millisecond. */
void duration_format(int64_t ns, char *buf, size_t len);

#endif
