/*
 * cli.h: the command line: the command table, the helpers every command
 * shares (cli.c), and the commands, one file per command or family.
 */
#ifndef LABSUP_CLI_H
#define LABSUP_CLI_H

#include <stdio.h>
#include <sys/types.h>

#include "../supervisor/supervisor.h"

/* What a command needs before it runs (the dispatcher provides it). */
enum cli_needs {
	CLI_CONFIG = 1,	/* a valid config file (or the built-in defaults) */
	CLI_LAB,	/* a lab to find: a broken file still names it */
	CLI_RUNNING,	/* as CLI_LAB, and the command works on the running
			   lab: it calls cli_require_running() once its
			   options are parsed (usage errors come first) */
};

/*
 * A command: argv[0] is its name and the rest its arguments, with -c FILE
 * taken out.  Once its own options are parsed (usage errors come first,
 * whatever the file holds) it calls cli_cfg() for the config, loaded as
 * the table's `needs` says.
 */
typedef int (*cli_fn)(int argc, char **argv);

struct cli_command {
	const char *name;	/* "start", "config" ("config check") */
	const char *usage;	/* options and operands, for --help */
	const char *summary;	/* one line, for --help */
	cli_fn run;
	int needs;		/* enum cli_needs */
	bool operands_end;	/* our options stop at the first operand (psql) */
};

extern const struct cli_command cli_commands[];

/* cli.c */
void cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* Run argv[1] (the command) from the table; the process exit code. */
int cli_dispatch(int argc, char **argv);
/* A --timeout value: whole seconds, 1 to 86400, or a usage error. */
int cli_seconds(const char *cmd, const char *text);
/* A duration argument (lib/duration.h), more than 0, in ns; or a usage
 * error naming what ("logs: --since"). */
int64_t cli_duration(const char *what, const char *text);
/*
 * The command's config (-c FILE, $LABSUP_CONFIG or the built-in defaults),
 * loaded on the first call as its table row says: strict (an invalid file
 * exits 1 with file:line: reason) or lenient (it only names the lab).
 */
struct config *cli_cfg(void);
extern char cfg_error[600];	/* set when a lenient load met an invalid file */
extern struct config *cli_config;	/* the loaded config, for the command */
int cli_state_dir(const struct config *cfg, bool create);
pid_t cli_running_pid(const struct config *cfg);
int cli_open_seg(const struct config *cfg, struct seg *seg, bool writable,
    bool quiet);
/*
 * Map the running lab's segment (read only), or say on say (stdout or
 * stderr) that the lab does not run and how to start it: 0, or -1 (exit
 * EXIT_NOT_RUNNING).
 */
int cli_require_running(const struct config *cfg, struct seg *seg,
    FILE *say);

/* A consistent snapshot of the segment, for status, start and top. */
struct snap_worker {
	struct slot_sup sup;
	struct slot_own own;
	int state;		/* combined: enum worker_state */
};
struct snapshot {
	struct lab_info info;
	char backend[16];	/* "local", "docker", or "" while choosing */
	int32_t supervisor_pid;
	int64_t boot_ns;
	uint32_t nslots, nsvc;
	struct snap_worker workers[SUP_MAX_SLOTS];
	struct svc_info svcs[CFG_MAX_NODES + 2];
	uint64_t produced, committed, dropped;
};
void cli_snapshot(const struct seg *seg, struct snapshot *snap);
/* The first worker of kind in a snapshot (arg NULL: any), or NULL. */
const struct snap_worker *cli_worker(const struct snapshot *snap, int kind,
    const char *arg);

/* "12 MB"; compact ("12M") for narrow columns. */
void cli_bytes(int64_t b, bool compact, char *buf, size_t len);

/* cmd_status.c: what start prints while the lab comes up, and at the end */
int cli_follow_start(const struct config *cfg, struct seg *seg, pid_t pid,
    int timeout, bool quiet);
void cli_summary(const struct config *cfg, const struct snapshot *snap);

/* The commands (cli_commands[] in main.c). */
int cmd_start(int argc, char **argv);	/* cmd_lab.c */
int cmd_stop(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_status(int argc, char **argv);	/* cmd_status.c */
int cmd_top(int argc, char **argv);	/* cmd_top.c */
int cmd_check(int argc, char **argv);	/* cmd_check.c */
int cmd_psql(int argc, char **argv);
int cmd_config(int argc, char **argv);	/* cmd_config.c */
int cmd_env(int argc, char **argv);	/* cmd_env.c */
int cmd_sub(int argc, char **argv);	/* cmd_sub.c */
int cmd_logs(int argc, char **argv);	/* cmd_logs.c (issue 16) */
int cmd_image(int argc, char **argv);	/* cmd_image.c */
int cmd_report(int argc, char **argv);	/* cmd_report.c */
int cmd_waits(int argc, char **argv);	/* cmd_waits.c */
int cmd_scenario(int argc, char **argv);	/* cmd_scenario.c */
int cmd_link(int argc, char **argv);	/* cmd_link.c */

/*
 * issue 15: what config_load cannot see -- hum scripts parse, [node]
 * settings are the server's -- for `config check` and `start`.  0, or -1
 * with "file:line: reason" in err.
 */
int cli_config_deep_check(const struct config *cfg, char *err, size_t errlen);

#endif
