/*
 * cmd_stubs.c: CLI commands whose issues have not landed yet.  Each helper
 * moves its command out of here into its own file.
 */
#include <stdio.h>

#include "labsup.h"

static int
not_yet(const char *what)
{
	fprintf(stderr, "labsup: %s is not implemented in this build\n", what);
	return 1;
}

int
cmd_top(const struct config *cfg, int argc, char **argv)
{
	(void)cfg, (void)argc, (void)argv;
	return not_yet("top");
}
