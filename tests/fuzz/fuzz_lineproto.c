/*
 * fuzz_lineproto.c: libFuzzer target for the writer's line protocol.  The
 * input is a raw 128-byte record (any kind, any bytes in its strings and
 * numbers) followed by a string for lp_escape() in every context.  A line
 * must fit LP_LINE_MAX, end with its only newline, and hold no control
 * characters; an escaped string must fit twice its length.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../workers/lineproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_line(const char *p, size_t n)
{
	if (n == 0 || n > LP_LINE_MAX || p[n - 1] != '\n')
		abort();
	for (size_t i = 0; i + 1 < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lp_buf b = { 0 };
	struct record r;
	size_t before;
	char *dst;
	int rc;

	memset(&r, 0, sizeof(r));
	memcpy(&r, data, size < sizeof(r) ? size : sizeof(r));
	/* two lines in one buffer: the second must not disturb the first */
	for (int i = 0; i < 2; i++) {
		before = b.len;
		rc = lp_format(&b, &r);
		if (rc == -1)
			abort();
		if (rc == 0)
			check_line(b.data + before, b.len - before);
		else if (b.len != before)
			abort();
	}
	lp_free(&b);

	if (size > sizeof(r)) {
		const char *s = (const char *)data + sizeof(r);
		size_t n = size - sizeof(r);

		if ((dst = malloc(2 * n)) == NULL)
			abort();
		for (int ctx = LP_MEASUREMENT; ctx <= LP_STRING; ctx++) {
			size_t out = lp_escape(dst, s, n, ctx);
			if (out < n || out > 2 * n)
				abort();
			for (size_t i = 0; i < out; i++)
				if ((unsigned char)dst[i] < 0x20 ||
				    dst[i] == 0x7f)
					abort();
		}
		free(dst);
	}
	return 0;
}
