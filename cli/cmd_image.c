/*
 * cmd_image.c: `labsup image build`: the lab's Docker images, built from
 * the host's installed binaries (docker/image.c), so the docker backend
 * needs no registry.
 */
#include <stdio.h>
#include <string.h>

#include "../docker/image.h"
#include "cli.h"

static void
image_usage(void)
{
	fprintf(stderr, "usage: labsup image build [-c FILE] [postgres|"
	    "influxdb]...\n");
}

int
cmd_image(int argc, char **argv)
{
	struct config *cfg;
	struct engine e;
	char err[ENGINE_ERR];
	bool want[IMAGE_MAX] = { false, false };
	int i = 1, rc = 0;	/* argv[0] is "image" */

	if (i >= argc || strcmp(argv[i], "build") != 0) {
		image_usage();
		return EXIT_USAGE;
	}
	for (i++; i < argc; i++) {
		if (strcmp(argv[i], "postgres") == 0)
			want[IMAGE_POSTGRES] = true;
		else if (strcmp(argv[i], "influxdb") == 0)
			want[IMAGE_INFLUXDB] = true;
		else {
			image_usage();
			return EXIT_USAGE;
		}
	}
	cfg = cli_cfg();	/* once the command line is known good */
	if (!want[IMAGE_POSTGRES] && !want[IMAGE_INFLUXDB])
		want[IMAGE_POSTGRES] = want[IMAGE_INFLUXDB] = true;
	if (engine_open(&e, cfg->docker.host) == -1) {
		fprintf(stderr, "labsup: %s\n", e.err);
		return 1;
	}
	for (int k = 0; k < IMAGE_MAX; k++) {
		int64_t t0 = mono_ns();

		if (!want[k])
			continue;
		if (image_build(&e, cfg, k, err, sizeof(err)) == -1) {
			fprintf(stderr, "labsup: %s\n", err);
			rc = 1;
			continue;
		}
		printf("labsup: built %s from the host's binaries in %.1f s\n",
		    image_name(cfg, k), (double)(mono_ns() - t0) / 1e9);
	}
	engine_close(&e);
	return rc;
}
