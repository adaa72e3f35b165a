/*
 * local.c: the local backend.  PLACEHOLDER until its issue lands.
 */
#include <stdio.h>

#include "../supervisor/labsup.h"
#include "backend.h"

static int
local_probe(const struct config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	snprintf(err, errlen, "the local backend is not built yet");
	return -1;
}

const struct backend_ops backend_local = {
	.name = "local",
	.probe = local_probe,
};
