/*
 * replication.h: the lab schema and the naming of publications and
 * subscriptions, shared by the replication worker and `labsup check`.
 */
#ifndef LABSUP_REPLICATION_H
#define LABSUP_REPLICATION_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "../supervisor/config.h"

/* The lab tables in creation order; the heartbeat table is the last. */
#define REPL_NTABLES 5
extern const char *const repl_tables[REPL_NTABLES];

/* Connect to a node with the lab's credentials (passfile); NULL + err. */
PGconn *repl_connect(const struct config *cfg, const struct node_cfg *node,
    const char *appname, char *err, size_t errlen);

/* CREATE TABLE IF NOT EXISTS for every lab table.  0 or -1 + err. */
int repl_schema(PGconn *c, char *err, size_t errlen);

/* The subscription of a subscriber node: "sub_<node>". */
void repl_subname(const struct node_cfg *node, char *buf, size_t len);

/* The publication a subscriber subscribes to (pub_<node> or the lab's). */
void repl_pubname(const struct config *cfg, const struct node_cfg *node,
    char *buf, size_t len);

/*
 * Does a subscriber take this table, and with which row filter ("" for
 * none)?  The heartbeat table is always taken, unfiltered.
 */
bool repl_node_table(const struct node_cfg *node, const char *table,
    char *filter, size_t len);

#endif
