/*
 * backend.c: the services a config asks for, and which backend runs them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/labsup.h"
#include "backend.h"

int
backend_services(const struct config *cfg, struct service_def *out, int max)
{
	int n = 0;

	for (int i = 0; i < cfg->nnodes && n < max; i++, n++) {
		memset(&out[n], 0, sizeof(out[n]));
		snprintf(out[n].name, sizeof(out[n].name), "%s",
		    cfg->nodes[i].name);
		out[n].role = cfg->nodes[i].role == NODE_PUBLISHER ?
		    ROLE_PUBLISHER : ROLE_SUBSCRIBER;
		out[n].port = cfg->nodes[i].port;
		out[n].node = &cfg->nodes[i];
	}
	if (n < max) {
		memset(&out[n], 0, sizeof(out[n]));
		snprintf(out[n].name, sizeof(out[n].name), "influxdb");
		out[n].role = ROLE_INFLUXDB;
		out[n].port = cfg->influx.port;
		n++;
	}
	if (n < max && cfg->grafana.enabled != TRI_NO) {
		memset(&out[n], 0, sizeof(out[n]));
		snprintf(out[n].name, sizeof(out[n].name), "grafana");
		out[n].role = ROLE_GRAFANA;
		out[n].port = cfg->grafana.port;
		n++;
	}
	return n;
}

const struct backend_ops *
backend_pick(const struct config *cfg, char *why, size_t whylen)
{
	char err[256] = "";

	switch (cfg->lab.backend) {
	case BACKEND_DOCKER:
		snprintf(why, whylen, "docker (from the config)");
		return &backend_docker;
	case BACKEND_LOCAL:
		snprintf(why, whylen, "local (from the config)");
		return &backend_local;
	}
	if (backend_docker.probe(cfg, err, sizeof(err)) == 0) {
		snprintf(why, whylen, "docker (auto: the Docker engine answers)");
		return &backend_docker;
	}
	snprintf(why, whylen, "local (auto: %s)", err);
	return &backend_local;
}

void
backend_remember(const struct config *cfg, const struct backend_ops *be)
{
	char path[CFG_PATH + 16], line[32];

	if (lab_path(cfg, BACKEND_FILE, path, sizeof(path)) == -1)
		return;
	snprintf(line, sizeof(line), "%s\n", be->name);
	(void)file_write_atomic(path, line, strlen(line), 0644, (uid_t)-1,
	    (gid_t)-1);
}

const struct backend_ops *
backend_recorded(const struct config *cfg)
{
	char path[CFG_PATH + 16], buf[32] = "", why[256];
	FILE *fp;

	if (lab_path(cfg, BACKEND_FILE, path, sizeof(path)) == 0 &&
	    (fp = fopen(path, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), fp) == NULL)
			buf[0] = '\0';
		fclose(fp);
		buf[strcspn(buf, "\n")] = '\0';
		if (!strcmp(buf, backend_local.name))
			return &backend_local;
		if (!strcmp(buf, backend_docker.name))
			return &backend_docker;
	}
	return backend_pick(cfg, why, sizeof(why));
}
