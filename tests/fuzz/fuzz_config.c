/*
 * fuzz_config.c: libFuzzer target for the config parser.  Each input is a
 * config file, handed to config_load() through a memfd (no disk I/O).  The
 * parser must accept or refuse with one "file:line: reason" line; the
 * sanitizers catch overflows, leaks and UB on the way.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char path[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[1024];
	int rc;

	if (memfd == -1) {
		memfd = memfd_create("fuzz_config", 0);
		if (memfd == -1)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) == -1 ||
	    pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	err[0] = '\0';
	rc = config_load(&cfg, path, err, sizeof(err));
	if (rc == -1) {
		/* refused: the message names the file and a line, on one line */
		if (strncmp(err, path, strlen(path)) != 0 ||
		    err[strlen(path)] != ':' || strchr(err, '\n') != NULL)
			abort();
	} else if (rc == 0) {
		/* accepted: the result is coherent */
		if (cfg.nnodes < 1 || cfg.nnodes > CFG_MAX_NODES ||
		    config_publisher(&cfg) == NULL)
			abort();
		for (int i = 0; i < cfg.nnodes; i++)
			if (cfg.nodes[i].port < 1024 ||
			    cfg.nodes[i].port > 65535 ||
			    memchr(cfg.nodes[i].name, '\0', CFG_NAME) == NULL)
				abort();
		if (memchr(cfg.lab.name, '\0', sizeof(cfg.lab.name)) == NULL)
			abort();
	} else
		abort();
	return 0;
}
