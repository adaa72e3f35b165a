/*
 * sampler.h: what the sampler shares with its benchmark: the statement one
 * tick runs (locks: with the pg_locks scan; repl: with the subscription
 * part; dboid: the oid of the database it runs in; wait_detail: with
 * each lock waiter's detail, workers/episodes.h), so a baseline can run
 * exactly the same SQL.
 */
#ifndef LABSUP_SAMPLER_H
#define LABSUP_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>

void sampler_sql(char *buf, size_t len, bool locks, bool repl,
    unsigned dboid, bool wait_detail);

#endif
