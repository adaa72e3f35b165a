/*
 * docker.c: the docker backend.  PLACEHOLDER until its issue lands.
 */
#include <stdio.h>

#include "../supervisor/labsup.h"
#include "backend.h"

static int
docker_probe(const struct config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	snprintf(err, errlen, "the docker backend is not built yet");
	return -1;
}

const struct backend_ops backend_docker = {
	.name = "docker",
	.probe = docker_probe,
};
