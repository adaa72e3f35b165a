/*
 * cmd_link.c: `labsup link NODE WORDS...` changes a subscriber's link at
 * run time (through link_apply, lib/link.h, which a scenario step calls
 * too); `labsup link status` shows every link: where it listens, what it
 * does and from where (the config or run time), and its figures from the
 * running lab's segment.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/link.h"
#include "../workers/worker.h"
#include "cli.h"

static int
link_status(const struct config *cfg)
{
	static struct snapshot snap;
	struct seg seg;
	bool running = cli_open_seg(cfg, &seg, false, true) == 0;

	if (running) {
		cli_snapshot(&seg, &snap);
		seg_close(&seg);
	}
	printf("%-10s %-21s %-6s %-9s %-9s %-7s %-5s %s\n", "NODE", "LISTEN",
	    "CONNS", "DOWN", "UP", "REFUSED", "FROM", "SETTINGS");
	for (int i = 0; i < cfg->nnodes; i++) {
		const struct node_cfg *n = &cfg->nodes[i];
		const struct snap_worker *w;
		struct link_settings s;
		char addr[96] = "-", host[64], text[160], from[32] = "conf";
		char conns[16] = "-", down[16] = "-", up[16] = "-";
		char ref[16] = "-";
		int64_t until;
		int port;

		if (n->role != NODE_SUBSCRIBER)
			continue;
		if (link_addr_read(cfg, n->name, host, sizeof(host),
		    &port) == 0)
			snprintf(addr, sizeof(addr), "%s:%d", host, port);
		if (link_override(cfg, n->name, &s, &until) == 1) {
			if (until > 0)
				snprintf(from, sizeof(from), "%" PRId64 "s",
				    (until - now_ns()) / 1000000000 + 1);
			else
				snprintf(from, sizeof(from), "cli");
		} else
			s = *config_link(cfg, n->name);
		w = running ? cli_worker(&snap, WK_LINK, n->name) : NULL;
		if (w != NULL && w->own.pid != 0) {
			const int64_t *c = w->own.counters;
			snprintf(conns, sizeof(conns), "%" PRId64,
			    c[LK_CONNECTIONS]);
			cli_bytes(c[LK_BYTES_DOWN], true, down, sizeof(down));
			cli_bytes(c[LK_BYTES_UP], true, up, sizeof(up));
			snprintf(ref, sizeof(ref), "%" PRId64, c[LK_REFUSED]);
		}
		printf("%-10s %-21s %-6s %-9s %-9s %-7s %-5s %s\n", n->name,
		    addr, conns, down, up, ref, from,
		    link_settings_text(&s, text, sizeof(text)));
	}
	return 0;
}

int
cmd_link(int argc, char **argv)
{
	struct config *cfg;
	struct link_settings s;
	char err[300], text[160];
	int64_t until;
	bool clear;

	if (argc < 2)
		cli_usage_error("link: expected `link NODE [latency MS] "
		    "[jitter MS] [rate KBPS] [direction both|down|up] [stall] "
		    "[partition] [heal] [clear] [--for SEC]` or `link "
		    "status`");
	if (!strcmp(argv[1], "status")) {
		if (argc > 2)
			cli_usage_error("link status: unexpected argument "
			    "\"%s\"", argv[2]);
		return link_status(cli_cfg());
	}
	if (argc < 3)
		cli_usage_error("link %s: what should the link do? (latency "
		    "MS, jitter MS, rate KBPS, stall, partition, heal, clear)",
		    argv[1]);
	/* the words are checked before the config is read */
	memset(&s, 0, sizeof(s));
	if (link_settings_parse(argc - 2, argv + 2, &s, &clear, err,
	    sizeof(err)) == -1)
		cli_usage_error("link %s: %s", argv[1], err);
	cfg = cli_cfg();
	if (config_node(cfg, argv[1]) == NULL ||
	    config_node(cfg, argv[1])->role != NODE_SUBSCRIBER) {
		fprintf(stderr, "labsup: link: %s is not a subscriber of this "
		    "lab (labsup link status lists the links)\n", argv[1]);
		return EXIT_USAGE;
	}
	/* what is in force, with the words on top ("clear": the config's) */
	if (clear)
		s = *config_link(cfg, argv[1]);
	else
		link_effective(cfg, argv[1], &s, &until);
	s.for_s = 0;
	link_settings_parse(argc - 2, argv + 2, &s, &clear, err, sizeof(err));
	if (clear && argc == 3) {
		if (link_clear(cfg, argv[1], err, sizeof(err)) == -1) {
			fprintf(stderr, "labsup: link: %s\n", err);
			return 1;
		}
		printf("labsup: link %s: back to the config: %s\n", argv[1],
		    link_settings_text(&s, text, sizeof(text)));
		return 0;
	}
	if (link_apply(cfg, argv[1], &s, err, sizeof(err)) == -1) {
		fprintf(stderr, "labsup: link: %s\n", err);
		return 1;
	}
	printf("labsup: link %s: %s", argv[1], link_settings_text(&s, text,
	    sizeof(text)));
	if (s.for_s > 0)
		printf(" for %d s, then the config's again\n", s.for_s);
	else
		printf(" until `labsup link %s clear`\n", argv[1]);
	return 0;
}
