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

/*
 * The lab tables in creation order; the heartbeat table is the last.
 * pgbench's four by default; schema_load() replaces them with the tables
 * of [replication] schema = FILE (issue 15).
 */
#define SCHEMA_MAX_TABLES 17
extern const char *schema_tables[SCHEMA_MAX_TABLES];
extern int schema_ntables;
#define SCHEMA_NTABLES schema_ntables

/* [replication] schema is the built-in pgbench one. */
bool schema_is_pgbench(const struct config *cfg);

/*
 * issue 15: read [replication] schema = FILE, and learn its tables from
 * its CREATE TABLE statements.  0, or -1 with "file:line: reason".  For
 * the pgbench schema a no-op.
 */
int schema_load(const struct config *cfg, char *err, size_t errlen);

/*
 * issue 15: load [replication] data (a SQL file, or a directory of
 * TABLE.csv files with a header line, one per table) on the publisher in
 * one transaction, unless the first table already has rows.  0 or -1.
 */
int schema_load_data(const struct config *cfg, PGconn *c, bool *loaded,
    char *err, size_t errlen);

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
