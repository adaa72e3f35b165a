/*
 * cmd_config.c: `labsup config check`: validate the config and print the
 * effective settings (from the key table, lib/config.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int
cmd_config(struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	if (argc < 2 || strcmp(argv[1], "check") != 0)
		cli_usage_error("config: expected `config check [-c FILE]`");
	argc--, argv++;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1)
		cli_usage_error("config check: unknown option or missing value "
		    "\"%s\"", argv[optind - 1]);
	if (optind != argc)
		cli_usage_error("config check: unexpected argument \"%s\"",
		    argv[optind]);
	config_print(cfg, stdout);
	fprintf(stderr, "labsup: config OK\n");
	return 0;
}
