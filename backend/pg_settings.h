/*
 * pg_settings.h: the PostgreSQL server settings every node of a lab runs
 * with, whichever backend starts it: the local backend writes them into
 * the data directory's labsup.conf, the docker backend passes them to the
 * container's postgres as -c name=value, in this order.
 */
#ifndef LABSUP_PG_SETTINGS_H
#define LABSUP_PG_SETTINGS_H

#include <stddef.h>

/*
 * Settings only one backend needs stay in that backend:
 *   local (local_pg.c): listen_addresses (the lab's bind address), port,
 *     unix_socket_directories and _permissions (the socket lives in the
 *     data directory), max_connections, shared_buffers, log_line_prefix
 *     with the node's name;
 *   docker (docker.c): listen_addresses=* (the container's own network),
 *     log_line_prefix without a name, and (issue 16) log_directory on a
 *     bind-mounted host directory and log_file_mode 0644 (the container's
 *     server user is not the host's).  With jsonlog through the collector,
 *     `docker logs` shows only what a server says before the collector
 *     starts.
 * A docker container's signature (docker_signature) does not cover these
 * values: changing one here reaches existing containers only when their
 * signature changes for another reason.
 */
struct pg_setting {
	const char *name;
	const char *value;	/* as postgres -c takes it, unquoted */
	const char *why;
};

extern const struct pg_setting pg_settings[];
extern const size_t pg_nsettings;

/*
 * The environment every PostgreSQL server of the lab runs with, whichever
 * backend.  glibc's malloc returns the top of the heap to the kernel when
 * more than 128 kB is free there, and its dynamic thresholds do not always
 * rise above that: a sampler's statement (pg_stat_activity copies every
 * backend's query text, 1 kB each) then grew and shrank its backend's
 * heap on every tick, and brk plus the page faults of the regrown heap
 * were 15 % of that backend's CPU at 100 Hz.  Fixed thresholds keep up to
 * 4 MB of freed heap per backend and mmap only allocations over 2 MB.
 */
#define PG_SERVER_TUNABLES "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=" \
    "2097152:glibc.malloc.trim_threshold=4194304"

/*
 * The table as postgresql.conf lines ("name = value\n", a value quoted
 * when it is more than letters, digits, '_' and '.'), appended at buf's
 * terminating NUL.  0, or -1 when buf is too small.
 */
int pg_settings_conf(char *buf, size_t len);

/*
 * issue 15: node's own settings ([node] settings) as postgresql.conf lines,
 * appended likewise; they come after every other setting.  0 or -1.
 */
struct node_cfg;
int pg_settings_user_conf(const struct node_cfg *node, char *buf, size_t len);

#endif
