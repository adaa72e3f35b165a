/*
 * cmd_config.c: `labsup config check` validates the config and prints the
 * effective settings; `labsup config keys` lists every key the file takes
 * (section, key, type, default, one line of documentation), tab-separated:
 * both from the key table (lib/config.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../workers/hum.h"

static void
config_keys(void)
{
	struct config d;
	char def[CFG_PATH * 2], kind[200];

	config_defaults(&d);
	printf("SECTION\tKEY\tTYPE\tDEFAULT\tDOC\n");
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		bool node = !strcmp(k->section, CFG_NODE);
		config_key_kind(k, kind, sizeof(kind));
		if (k->def != NULL && !node)
			config_value(&d, k, NULL, def, sizeof(def));
		else
			snprintf(def, sizeof(def), "-");
		printf("%s\t%s\t%s\t%s\t%s\n", node ? "node NAME" : k->section,
		    k->key, kind, def, k->doc);
	}
}

int
cmd_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{ NULL, 0, NULL, 0 },
	};
	const char *sub = argc >= 2 ? argv[1] : "";
	const struct config *cfg;
	char err[512];
	int ch;

	if (strcmp(sub, "check") != 0 && strcmp(sub, "keys") != 0)
		cli_usage_error("config: expected `config check [-c FILE]` or "
		    "`config keys`");
	argc--, argv++;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1)
		cli_usage_error("config %s: unknown option or missing value "
		    "\"%s\"", sub, argv[optind - 1]);
	if (optind != argc)
		cli_usage_error("config %s: unexpected argument \"%s\"", sub,
		    argv[optind]);
	if (!strcmp(sub, "keys")) {
		config_keys();
		return 0;
	}
	/* keys needs no config: a broken file does not stop it */
	cfg = cli_cfg();
	/* issue 15: hum scripts are part of the config: path:line: reason */
	if (hum_scripts_check(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "labsup: %s\n", err);
		return 1;
	}
	config_print(cfg, stdout);
	fprintf(stderr, "labsup: config OK\n");
	return 0;
}
