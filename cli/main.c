/*
 * main.c: the labsup command line: the command table and main().  Each
 * command lives in a file of its own (cmd_*.c); cli.c loads the config
 * for it as the table says.  Usage errors exit 2, "not running" exits 3
 * (LSB).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

const struct cli_command cli_commands[] = {
	{ "start", "[--backend auto|docker|local] [-f|--foreground] "
	  "[--timeout SEC]", "start the lab and wait until it is ready",
	  cmd_start, CLI_CONFIG, false },
	{ "status", "[--json]", "show services, workers, ring and writer "
	  "(exit 3 if not running)", cmd_status, CLI_LAB, false },
	{ "top", "[--once | -n COUNT] [--plain]", "live view of the lab from "
	  "shared memory", cmd_top, CLI_RUNNING, false },
	{ "reload", "", "re-read the config file (same as kill -HUP)",
	  cmd_reload, CLI_RUNNING, false },
	{ "stop", "[--keep-running | --purge] [--timeout SEC]", "stop workers "
	  "and services (--purge deletes the lab's data)", cmd_stop, CLI_LAB,
	  false },
	{ "check", "[--timeout SEC]", "compare row counts and checksums across "
	  "nodes", cmd_check, CLI_CONFIG, false },
	{ "psql", "NODE [PSQL ARGS]", "psql on a node with the lab's "
	  "credentials", cmd_psql, CLI_CONFIG, true },
	{ "sub", "pause NODE | resume NODE | status [NODE]", "pause or resume "
	  "a subscription on purpose (the lab leaves it so); where each stands",
	  cmd_sub, CLI_CONFIG, false },
	{ "env", "[NODE] [--shell | --json]", "how an application connects to "
	  "a node (eval \"$(labsup env pub --shell)\")", cmd_env, CLI_CONFIG,
	  false },
	{ "config", "check | keys", "validate the config and print the "
	  "effective settings | list every key", cmd_config, CLI_CONFIG,
	  false },
	{ "image", "build [postgres|influxdb]...", "build the Docker images "
	  "from the host's binaries", cmd_image, CLI_CONFIG, false },
	/* issue 19: the HTML report */
	{ "report", "[--since DUR] [--from T] [--to T] [--scenario RUN] "
	  "[-o FILE]", "the lab's "
	  "charts of a time range as one HTML page that opens from disk",
	  cmd_report, CLI_CONFIG, false },
	/* issue 16 */
	{ "logs", "[NODE...] [-f|--follow] [--since DUR] [--grep RE] [--all]",
	  "the servers' notable log lines, merged across nodes in time order",
	  cmd_logs, CLI_CONFIG, false },
	{ "waits", "[NODE] [--since DUR] [--json]", "lock-wait episodes "
	  "from InfluxDB, longest first, with who blocked whom", cmd_waits,
	  CLI_CONFIG, false },
	{ "scenario", "list | show NAME | run NAME|FILE [--repeat N] [--json] "
	  "[--keep-going] [--seed N] [--report FILE]", "make an incident "
	  "happen, measure it, "
	  "say whether it went as expected", cmd_scenario, CLI_CONFIG, false },
	{ "link", "NODE [latency MS] [jitter MS] [rate KBPS] [direction "
	  "both|down|up] [stall] [partition] [heal] [clear] [--for DUR] | "
	  "status", "shape a subscriber's link to the publisher at run time; "
	  "where each link stands", cmd_link, CLI_CONFIG, false },
	{ NULL, NULL, NULL, NULL, 0, false },
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: labsup COMMAND [-c FILE] [options]\n\n");
	for (const struct cli_command *c = cli_commands; c->name; c++) {
		char line[160];
		snprintf(line, sizeof(line), "  %s%s%s", c->name,
		    c->usage[0] ? " " : "", c->usage);
		if (strlen(line) <= 20)
			fprintf(fp, "%-21s%s\n", line, c->summary);
		else
			fprintf(fp, "%s\n%-21s%s\n", line, "", c->summary);
	}
	fprintf(fp, "\n  -c FILE            the lab's config (default "
	    "$LABSUP_CONFIG, else built-in defaults)\n"
	    "  --help, --version\n");
}

int
main(int argc, char **argv)
{
	const char *cmd;

	setproctitle_init(argc, argv, environ);
	worker_titles = true;
	if (argc < 2)
		cli_usage_error("no command given");
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") ||
	    !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("labsup %s\n", LABSUP_VERSION);
		return 0;
	}
	log_init("labsup", true);
	opterr = 0; /* we print one line of our own */
	return cli_dispatch(argc, argv);
}
