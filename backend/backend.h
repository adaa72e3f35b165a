/*
 * backend.h: how the container worker drives services.  One table of
 * operations per backend (local processes, Docker Engine API).  Every
 * operation is idempotent: "ensure" adopts a running service or starts one,
 * and is called again on every reconcile pass.
 */
#ifndef LABSUP_BACKEND_H
#define LABSUP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/config.h"

/* A service the config asks for. */
struct service_def {
	char name[16];		/* node name, "influxdb", "grafana" */
	int role;		/* enum svc_role (shm/status.h) */
	int port;		/* host port on 127.0.0.1 */
	const struct node_cfg *node; /* PostgreSQL nodes only */
};

/* What a backend reports about a service. */
struct service_obs {
	int state;		/* enum svc_state */
	int32_t pid;		/* server pid (local) */
	char id[72];		/* container id (docker) */
	char detail[120];	/* reason when failed/unavailable */
	double cpu_pct;		/* since the previous stats call */
	int64_t mem_bytes;
	int64_t net_rx_bytes, net_tx_bytes;
};

struct backend_ops {
	const char *name;
	/* 0 when the backend can run here; else a reason in err. */
	int (*probe)(const struct config *cfg, char *err, size_t errlen);
	/* Network, images, credentials: once per reconcile pass. */
	int (*prepare)(const struct config *cfg, char *err, size_t errlen);
	/* Adopt or start; fills obs (state READY, STARTING or FAILED). */
	int (*ensure)(const struct config *cfg, const struct service_def *svc,
	    struct service_obs *obs);
	/* Cheap liveness and resource figures for a service. */
	int (*stats)(const struct config *cfg, const struct service_def *svc,
	    struct service_obs *obs);
	/* Stop one service (fast shutdown), keeping data unless purge. */
	int (*stop)(const struct config *cfg, const struct service_def *svc,
	    bool purge, char *err, size_t errlen);
	/* After every service stopped: networks, volumes, leftovers. */
	int (*teardown)(const struct config *cfg, bool purge, char *err,
	    size_t errlen);
	/*
	 * Where a subscriber reaches the publisher: host and port as seen from
	 * inside the subscriber's server (127.0.0.1:port locally, the
	 * container name and 5432 on the docker network).
	 */
	int (*peer_addr)(const struct config *cfg, const struct node_cfg *pub,
	    char *host, size_t hostlen, int *port);
	/*
	 * The lab's PostgreSQL nodes the config no longer names (a reload
	 * removed them) that still have a server, container or data here:
	 * fills out (name and role only) and returns how many.  The container
	 * worker stops them (data kept); `stop --purge` deletes them too.
	 */
	int (*orphans)(const struct config *cfg, struct service_def *out,
	    int max);
	/*
	 * Where a container on the lab's network reaches node: the network's
	 * name, the node's host name on it and its port there.  NULL for a
	 * backend without a network of its own (local).
	 */
	int (*network)(const struct config *cfg, const struct node_cfg *node,
	    char *net, size_t netlen, char *host, size_t hostlen, int *port);
	/*
	 * For a link worker on the host (workers/link.c): the address it
	 * listens on so a subscriber's server reaches it (the bind address
	 * locally; the lab network's gateway on docker, never 0.0.0.0), and
	 * where it reaches the publisher (host and port, from the host).
	 * 0, or -1 with err (the network is not there yet).
	 */
	int (*link_addr)(const struct config *cfg, char *listen,
	    size_t listenlen, char *up, size_t uplen, int *up_port, char *err,
	    size_t errlen);
};

extern const struct backend_ops backend_local;
extern const struct backend_ops backend_docker;

/* The services cfg asks for, in start order; returns how many. */
int backend_services(const struct config *cfg, struct service_def *out,
    int max);
/*
 * The backend that runs the lab, remembered in the state directory (file
 * BACKEND_FILE) by the container worker for `stop` and `env`; when the lab
 * never ran, the one backend_pick() would choose.
 */
#define BACKEND_FILE "backend"
void backend_remember(const struct config *cfg, const struct backend_ops *be);
const struct backend_ops *backend_recorded(const struct config *cfg);

/* Pick the backend for cfg (auto: docker if the engine answers). */
const struct backend_ops *backend_pick(const struct config *cfg, char *why,
    size_t whylen);

#endif
