/*
 * cmd_config.c: `labsup config check` validates the config and prints the
 * effective settings; `labsup config keys` lists every key the file takes
 * (section, key, type, default, one line of documentation), tab-separated:
 * both from the key table (lib/config.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "../workers/hum.h"
#include "../lib/schema.h"

static void
config_keys(void)
{
	struct config d;
	char def[CFG_PATH * 2], kind[200];

	config_defaults(&d);
	printf("SECTION\tKEY\tTYPE\tDEFAULT\tDOC\n");
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		bool node = config_key_per_node(k);
		config_key_kind(k, kind, sizeof(kind));
		if (k->def != NULL && !node)
			config_value(&d, k, NULL, def, sizeof(def));
		else if (k->def != NULL)
			snprintf(def, sizeof(def), "%s", k->def);
		else
			snprintf(def, sizeof(def), "-");
		printf("%s%s\t%s\t%s\t%s\t%s\n", k->section, node ? " NAME" : "",
		    k->key, kind, def, k->doc);
	}
}

/* One server setting as `postgres --describe-config` prints it. */
struct guc {
	char name[64];
	char context[16];
	char vartype[12];
};

/* Every setting the lab's postgres knows; -1 when it cannot be run. */
static int
gucs_load(const struct config *cfg, struct guc **out, int *n)
{
	char cmd[CFG_PATH + 64], line[4096];
	int cap = 0;
	FILE *fp;

	*out = NULL;
	*n = 0;
	if (strchr(cfg->lab.pg_bin, '\'') != NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "'%s/postgres' --describe-config 2>/dev/null",
	    cfg->lab.pg_bin);
	if ((fp = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *f[4], *s = line;
		int k;
		for (k = 0; k < 4 && s != NULL; k++)
			f[k] = strsep(&s, "\t");
		if (k < 4)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 512;
			struct guc *g = realloc(*out, (size_t)cap * sizeof(*g));
			if (g == NULL)
				break;
			*out = g;
		}
		snprintf((*out)[*n].name, sizeof((*out)[0].name), "%s", f[0]);
		snprintf((*out)[*n].context, sizeof((*out)[0].context), "%s",
		    f[1]);
		snprintf((*out)[*n].vartype, sizeof((*out)[0].vartype), "%s",
		    f[3]);
		(*n)++;
	}
	return pclose(fp) == 0 && *n > 0 ? 0 : -1;
}

static bool
guc_bool_ok(const char *v)
{
	static const char *const ok[] = { "on", "off", "true", "false", "yes",
		"no", "1", "0", NULL };

	for (int i = 0; ok[i] != NULL; i++)
		if (!strcasecmp(v, ok[i]))
			return true;
	return false;
}

/*
 * issue 15: every node's settings against the server's own list of
 * settings: unknown ones, read-only ones and bad booleans are file:line
 * errors; those only a server start applies are noted.
 */
static int
settings_check(const struct config *cfg, char *err, size_t errlen)
{
	char name[80], value[CFG_STR * 4];
	struct guc *g;
	int ng, rc = 0;
	bool any = false;

	for (int i = 0; i < cfg->nnodes; i++)
		any |= cfg->nodes[i].settings[0] != '\0';
	if (!any)
		return 0;
	if (gucs_load(cfg, &g, &ng) == -1) {
		free(g);
		fprintf(stderr, "labsup: warning: %s/postgres --describe-config "
		    "did not run: [node] settings are not checked (set [lab] "
		    "pg_bin)\n", cfg->lab.pg_bin);
		return 0;
	}
	for (int i = 0; i < cfg->nnodes && rc == 0; i++) {
		const struct node_cfg *n = &cfg->nodes[i];
		const char *p = n->settings;
		while (rc == 0 && config_setting_next(&p, name, sizeof(name),
		    value, sizeof(value)) == 1) {
			const struct guc *k = NULL;
			for (int j = 0; j < ng && k == NULL; j++)
				if (!strcasecmp(g[j].name, name))
					k = &g[j];
			if (k == NULL && strchr(name, '.') != NULL)
				continue;	/* an extension's: not listed */
			if (k == NULL || !strcmp(k->context, "internal")) {
				snprintf(err, errlen, "%s:%d: [node %s] settings: "
				    "%s \"%s\" (postgres --describe-config "
				    "lists the settings)", cfg->path,
				    n->settings_line, n->name, k == NULL ?
				    "unknown server setting" :
				    "read-only server setting", name);
				rc = -1;
			} else if (!strcmp(k->vartype, "BOOLEAN") &&
			    !guc_bool_ok(value)) {
				snprintf(err, errlen, "%s:%d: [node %s] settings: "
				    "%s = %s: expected on or off", cfg->path,
				    n->settings_line, n->name, name, value);
				rc = -1;
			} else if (!strcmp(k->context, "postmaster"))
				fprintf(stderr, "labsup: [node %s] %s takes "
				    "effect when the server starts (a reload "
				    "says it waits for a restart)\n", n->name,
				    name);
		}
	}
	free(g);
	return rc;
}

int
cli_config_deep_check(const struct config *cfg, char *err, size_t errlen)
{
	if (hum_scripts_check(cfg, err, errlen) == -1 ||
	    schema_load(cfg, err, errlen) == -1)
		return -1;
	return settings_check(cfg, err, errlen);
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
	/*
	 * issue 15: hum scripts and server settings are part of the config:
	 * path:line: reason
	 */
	if (cli_config_deep_check(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "labsup: %s\n", err);
		return 1;
	}
	config_print(cfg, stdout);
	fprintf(stderr, "labsup: config OK\n");
	return 0;
}
