/*
 * fuzz_duration.c: libFuzzer target for the one duration syntax
 * (lib/duration.h).  The input is any string.  A duration that parses is
 * 0 to DURATION_MAX_NS; duration_format() of it parses back to it, to
 * the millisecond; duration_arg() agrees with duration_parse() and its
 * message is one line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[64], err[512];
	int64_t ns = -1, back = -1, arg = -1;
	int rc;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	rc = duration_parse(s, &ns);
	if (rc == 0) {
		if (ns < 0 || ns > DURATION_MAX_NS)
			abort();
		duration_format(ns, buf, sizeof(buf));
		if (duration_parse(buf, &back) == -1)
			abort();
		if (ns >= 1000000 && back != ns - ns % 1000000)
			abort();
		if (ns < 1000000 && back != ns)
			abort();
	}
	if ((duration_arg("fuzz", s, 0, DURATION_MAX_NS, &arg, err,
	    sizeof(err)) == 0) != (rc == 0) || (rc == 0 && arg != ns))
		abort();
	if (rc == -1 && strchr(s, '\n') == NULL && strchr(err, '\n') != NULL)
		abort();
	free(s);
	return 0;
}
