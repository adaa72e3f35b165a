/*
 * cmd_env.c: `labsup env [NODE] [--shell | --json]`: how an application
 * connects to a node of the lab: host, port, database, user and the
 * passfile (never the password), and on the docker backend the lab's
 * network and the node's name on it.  `eval "$(labsup env pub --shell)"`
 * sets the libpq variables, so psql or any libpq program just works.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../backend/backend.h"
#include "cli.h"

/* 'text' for a POSIX shell: single quotes, a ' as '\'' */
static void
env_quote(const char *v)
{
	putchar('\'');
	for (; *v; v++) {
		if (*v == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*v);
	}
	putchar('\'');
}

int
cmd_env(int argc, char **argv)
{
	struct config *cfg;
	static const struct option opts[] = {
		{ "shell", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const struct node_cfg *node;
	const struct backend_ops *be;
	char passfile[CFG_PATH + 16], net[128] = "", host[128] = "", port[16];
	int ch, inner = 0;
	bool shell = false, json = false, docker;

	/* options may follow NODE (getopt permutes) */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': shell = true; break;
		case 'j': json = true; break;
		default:
			cli_usage_error("env: unknown option or missing value "
			    "\"%s\" (try --shell or --json)", argv[optind - 1]);
		}
	}
	if (shell && json)
		cli_usage_error("env: --shell and --json exclude each other");
	if (argc - optind > 1)
		cli_usage_error("env: unexpected argument \"%s\"",
		    argv[optind + 1]);
	cfg = cli_cfg();	/* once the command line is known good */
	node = optind < argc ? config_node(cfg, argv[optind]) :
	    config_publisher(cfg);
	if (node == NULL) {
		fprintf(stderr, "labsup: env: no node \"%s\" in the config "
		    "(labsup config check lists them)\n", argv[optind]);
		return EXIT_USAGE;
	}
	lab_path(cfg, LAB_PASSFILE, passfile, sizeof(passfile));
	/* the backend that runs (or ran) the lab; else the one it would use */
	be = backend_recorded(cfg);
	docker = be->network != NULL &&
	    be->network(cfg, node, net, sizeof(net), host, sizeof(host),
	    &inner) == 0;
	snprintf(port, sizeof(port), "%d", node->port);

	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s}",
		    "node", node->name, "role", node->role == NODE_PUBLISHER ?
		    "publisher" : "subscriber", "host", cfg->lab.bind, "port",
		    node->port, "database", cfg->lab.database, "user",
		    cfg->lab.user, "passfile", passfile, "backend", be->name);
		if (docker)
			json_object_set_new(o, "docker", json_pack("{s:s, s:s, "
			    "s:i}", "network", net, "host", host, "port", inner));
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
		return 0;
	}
	if (shell) {
		const char *names[] = { "PGHOST", "PGPORT", "PGDATABASE",
			"PGUSER", "PGPASSFILE" };
		const char *vals[] = { cfg->lab.bind, port, cfg->lab.database,
			cfg->lab.user, passfile };
		for (int i = 0; i < 5; i++) {
			printf("export %s=", names[i]);
			env_quote(vals[i]);
			putchar('\n');
		}
		if (docker) {
			printf("# from a container on the lab's network: "
			    "--network %s, host %s, port %d\n", net, host, inner);
			printf("export LABSUP_DOCKER_NETWORK=");
			env_quote(net);
			printf("\nexport LABSUP_DOCKER_HOST=");
			env_quote(host);
			printf("\n");
		}
		return 0;
	}
	printf("node      %s (%s, %s backend)\nhost      %s\nport      %d\n"
	    "database  %s\nuser      %s\npassfile  %s\n", node->name,
	    node->role == NODE_PUBLISHER ? "publisher" : "subscriber",
	    be->name, cfg->lab.bind, node->port, cfg->lab.database,
	    cfg->lab.user, passfile);
	if (docker)
		printf("network   %s (from a container on it: host %s, port "
		    "%d)\n", net, host, inner);
	printf("\n  eval \"$(labsup env %s%s%s --shell)\" && psql\n",
	    node->name, cfg->path[0] ? " -c " : "", cfg->path);
	return 0;
}
