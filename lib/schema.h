/*
 * schema.h: the lab schema and the naming of publications and
 * subscriptions, shared by the replication worker and `labsup check`.
 */
#ifndef LABSUP_SCHEMA_H
#define LABSUP_SCHEMA_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* The lab tables in creation order; the heartbeat table is the last. */
#define SCHEMA_NTABLES 5
extern const char *const schema_tables[SCHEMA_NTABLES];

/*
 * CREATE TABLE IF NOT EXISTS for every lab table, and the pgbench_* views
 * of them (issue 15).  0 or -1 + err.
 */
int schema_create(PGconn *c, char *err, size_t errlen);

/* The subscription of a subscriber node: "sub_<node>". */
void schema_subname(const struct node_cfg *node, char *buf, size_t len);

/* A subscriber's own publication: "pub_<node>". */
void schema_node_pubname(const struct node_cfg *node, char *buf, size_t len);

/* The publication a subscriber subscribes to (pub_<node> or the lab's). */
void schema_pubname(const struct config *cfg, const struct node_cfg *node,
    char *buf, size_t len);

/*
 * Does a subscriber take this table, and with which row filter ("" for
 * none)?  The heartbeat table is always taken, unfiltered.
 */
bool schema_node_table(const struct node_cfg *node, const char *table,
    char *filter, size_t len);

#endif
