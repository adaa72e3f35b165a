/*
 * docker.c: the docker backend.  The lab as containers on its own bridge
 * network (labsup-<lab>), one per service (labsup-<lab>-<service>), data
 * in named volumes, ports published on 127.0.0.1 only.  Everything it
 * creates carries the label labsup.lab=<lab>, and it never touches an
 * object without that label: other labs and the user's own containers
 * share the engine.  It keeps no state that matters across restarts: a new
 * worker finds the containers by name and adopts them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "../lib/labsup.h"
#include "backend.h"
#include "pg_settings.h"
#include "local.h"
#include "../docker/engine.h"
#include "../docker/image.h"
#include "../shm/probe.h"

#define DOCKER_MAX_SVC (CFG_MAX_NODES + 2)
#define DOCKER_PWLEN 32
#define DOCKER_NAME 128
/* A container that exits this soon after we started it is crash-looping. */
#define DOCKER_FLAP_NS (10 * 1000000000LL)
/* ...and is started again only this long after. */
#define DOCKER_RETRY_NS (5 * 1000000000LL)
/* A failed pull is not retried sooner than this. */
#define DOCKER_PULL_RETRY_NS (300 * 1000000000LL)
#define DOCKER_LABEL_LAB "labsup.lab"
#define DOCKER_LABEL_SVC "labsup.service"
#define DOCKER_LABEL_CFG "labsup.config"
#define DOCKER_GRAFANA_UID 472	/* the official image's grafana user */
#define DOCKER_GRAFANA_DASHBOARDS "/etc/grafana/dashboards/labsup"
#define DOCKER_PG_LOG_DIR "/var/log/labsup-pg"	/* issue 16: jsonlog */

/* What this process remembers about a service between passes. */
struct docker_svc {
	char name[16];
	bool provisioned;	/* InfluxDB database created this process */
	int64_t started_ns;	/* mono, when we last started it */
	int64_t pull_failed_ns;	/* mono, last failed pull */
	int64_t start_failed_ns; /* mono, last refused start (port taken) */
	struct engine_stats prev;
};

static struct docker_svc docker_svcs[DOCKER_MAX_SVC];
static struct engine docker_eng;
static bool docker_eng_ok;
static bool docker_images_checked;

static struct docker_svc *
docker_state(const char *name)
{
	for (int i = 0; i < DOCKER_MAX_SVC; i++) {
		if (strcmp(docker_svcs[i].name, name) == 0)
			return &docker_svcs[i];
		if (docker_svcs[i].name[0] == '\0') {
			snprintf(docker_svcs[i].name, sizeof(docker_svcs[i].name),
			    "%s", name);
			return &docker_svcs[i];
		}
	}
	/* more services than the config allows: share the last slot */
	return &docker_svcs[DOCKER_MAX_SVC - 1];
}

/* The process's engine connection, opened on first use. */
static struct engine *
docker_engine(const struct config *cfg, char *err, size_t errlen)
{
	if (docker_eng_ok)
		return &docker_eng;
	if (engine_open(&docker_eng, cfg->docker.host) == -1) {
		snprintf(err, errlen, "%s", docker_eng.err);
		return NULL;
	}
	docker_eng_ok = true;
	return &docker_eng;
}

/* After a transport error: the engine may have restarted; reconnect. */
static void
docker_engine_lost(void)
{
	if (docker_eng_ok)
		engine_close(&docker_eng);
	docker_eng_ok = false;
}

static long
docker_call(struct engine *e, const char *method, const char *path,
    json_t *body, json_t **out)
{
	long st = engine_json(e, method, path, body, out);

	if (st == -1)
		docker_engine_lost();
	return st;
}

static void
docker_net_name(const struct config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "labsup-%s", cfg->lab.name);
}

static void
docker_ctr_name(const struct config *cfg, const char *svc, char *buf,
    size_t len)
{
	snprintf(buf, len, "labsup-%s-%s", cfg->lab.name, svc);
}

static void
docker_vol_name(const struct config *cfg, const char *svc, char *buf,
    size_t len)
{
	snprintf(buf, len, "labsup-%s-%s-data", cfg->lab.name, svc);
}

/* True when an inspected object (container, network, volume) is ours. */
static bool
docker_ours(const struct config *cfg, const json_t *obj)
{
	const json_t *labels = json_object_get(obj, "Labels");
	const char *lab;

	/* containers keep their labels under Config */
	if (labels == NULL)
		labels = json_object_get(json_object_get(obj, "Config"),
		    "Labels");
	lab = json_string_value(json_object_get(labels, DOCKER_LABEL_LAB));
	return lab != NULL && strcmp(lab, cfg->lab.name) == 0;
}

static const char *
docker_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL ? s : "";
}

/* ---- credentials ---------------------------------------------------- */

/*
 * Copy the secrets into a created container through the archive API, so
 * the password is never on a command line, in the environment or in a
 * host file the container could see more of.  The passfile also goes to
 * <state_dir>/pg/.pgpass inside, where subscriptions name it (passfile=),
 * as with the local backend.
 */
static int
docker_put_secrets(const struct config *cfg, struct engine *e,
    const struct service_def *svc, const char *id, char *err, size_t errlen)
{
	char pw[DOCKER_PWLEN + 8], pass[256], name[CFG_PATH + 32];
	char path[160], gpw[128] = "";
	uid_t uid = IMAGE_PG_UID;
	gid_t gid = IMAGE_PG_GID;
	FILE *fp;
	long st;
	int rc = 0, fd;

	if (lab_credentials(cfg, pw, sizeof(pw), err, errlen) == -1)
		return -1;
	/* in memory only: the archive holds the password */
	if ((fd = memfd_create("labsup-secrets", MFD_CLOEXEC)) == -1 ||
	    (fp = fdopen(fd, "w+")) == NULL) {
		snprintf(err, errlen, "cannot make the secrets archive: %s",
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	snprintf(pass, sizeof(pass), "*:*:*:%s:%s\n", cfg->lab.user, pw);
	if (svc->role == ROLE_GRAFANA) {
		FILE *g;

		uid = gid = DOCKER_GRAFANA_UID;
		if ((g = fopen(cfg->grafana.admin_password_file, "r")) != NULL) {
			if (fgets(gpw, sizeof(gpw), g) == NULL)
				gpw[0] = '\0';
			gpw[strcspn(gpw, "\r\n")] = '\0';
			fclose(g);
		}
		rc |= engine_tar_add(fp, "run/labsup/grafana_admin", '0', 0600,
		    uid, gid, gpw[0] ? gpw : pw, strlen(gpw[0] ? gpw : pw));
	} else {
		rc |= engine_tar_add(fp, "run/labsup/password", '0', 0600, uid,
		    gid, pw, strlen(pw));
		rc |= engine_tar_add(fp, "run/labsup/pgpass", '0', 0600, uid,
		    gid, pass, strlen(pass));
		snprintf(name, sizeof(name), "%s/pg/.pgpass",
		    cfg->lab.state_dir + (cfg->lab.state_dir[0] == '/'));
		rc |= engine_tar_add(fp, name, '0', 0600, uid, gid, pass,
		    strlen(pass));
	}
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(gpw, sizeof(gpw));
	if (rc != 0 || engine_tar_end(fp) == -1 || fseeko(fp, 0, SEEK_SET)) {
		snprintf(err, errlen, "cannot write the secrets archive: %s",
		    strerror(errno));
		fclose(fp);
		return -1;
	}
	snprintf(path, sizeof(path), "/containers/%s/archive?path=%%2F", id);
	st = engine_upload(e, "PUT", path, fp, "application/x-tar", NULL);
	fclose(fp);
	if (st != 200) {
		if (st == -1)
			docker_engine_lost();
		engine_errmsg(e, NULL, "copying the lab password in", err,
		    errlen);
		return -1;
	}
	return 0;
}

/* ---- probe, prepare ------------------------------------------------- */

static int
docker_probe(const struct config *cfg, char *err, size_t errlen)
{
	struct engine e;

	/* a fresh connection: probe runs before the worker forks, too */
	if (engine_open(&e, cfg->docker.host) == -1) {
		snprintf(err, errlen, "%s", e.err);
		return -1;
	}
	engine_close(&e);
	return 0;
}

static int
docker_ensure_network(const struct config *cfg, struct engine *e, char *err,
    size_t errlen)
{
	char net[DOCKER_NAME], path[DOCKER_NAME + 32];
	json_t *obj = NULL, *body;
	long st;

	docker_net_name(cfg, net, sizeof(net));
	snprintf(path, sizeof(path), "/networks/%s", net);
	st = docker_call(e, "GET", path, NULL, &obj);
	if (st == 200) {
		bool ours = docker_ours(cfg, obj);

		json_decref(obj);
		if (ours)
			return 0;
		snprintf(err, errlen, "a Docker network %s exists that labsup "
		    "did not create for this lab: remove it or rename the lab",
		    net);
		return -1;
	}
	json_decref(obj);
	if (st != 404) {
		engine_errmsg(e, NULL, net, err, errlen);
		return -1;
	}
	body = json_pack("{s:s, s:s, s:b, s:{s:s}}", "Name", net, "Driver",
	    "bridge", "CheckDuplicate", 1, "Labels", DOCKER_LABEL_LAB,
	    cfg->lab.name);
	st = docker_call(e, "POST", "/networks/create", body, &obj);
	json_decref(body);
	if (st != 201 && st != 409) {
		engine_errmsg(e, obj, "creating network", err, errlen);
		json_decref(obj);
		return -1;
	}
	json_decref(obj);
	log_info("docker: network %s created", net);
	return 0;
}

/*
 * The labsup/... images are ours to build: when one is missing, build it
 * from the host's binaries once per process (a few seconds), so
 * `labsup start --backend docker` works on a machine with no registry.
 */
static int
docker_ensure_images(const struct config *cfg, struct engine *e, char *err,
    size_t errlen)
{
	if (docker_images_checked)
		return 0;
	for (int k = 0; k < IMAGE_MAX; k++) {
		const char *img = image_name(cfg, k);

		if (!image_is_local(img) || image_present(e, img))
			continue;
		log_info("docker: image %s is missing; building it from the "
		    "host's binaries", img);
		if (image_build(e, cfg, k, err, errlen) == -1)
			return -1;
		log_info("docker: image %s built", img);
	}
	docker_images_checked = true;
	return 0;
}

static int
docker_prepare(const struct config *cfg, char *err, size_t errlen)
{
	struct engine *e;
	char pw[DOCKER_PWLEN + 8];

	if ((e = docker_engine(cfg, err, errlen)) == NULL)
		return -1;
	if (lab_credentials(cfg, pw, sizeof(pw), err, errlen) == -1)
		return -1;
	explicit_bzero(pw, sizeof(pw));
	if (docker_ensure_network(cfg, e, err, errlen) == -1)
		return -1;
	return docker_ensure_images(cfg, e, err, errlen);
}

/* ---- containers ----------------------------------------------------- */

static const char *
docker_image_for(const struct config *cfg, int role)
{
	switch (role) {
	case ROLE_INFLUXDB:
		return cfg->docker.image_influxdb;
	case ROLE_GRAFANA:
		return cfg->docker.image_grafana;
	}
	return cfg->docker.image_postgres;
}

static int
docker_inner_port(int role)
{
	return role == ROLE_INFLUXDB ? 8086 : role == ROLE_GRAFANA ? 3000 :
	    5432;
}

static const char *
docker_data_dir(int role)
{
	return role == ROLE_INFLUXDB ? IMAGE_INFLUX_DATA :
	    role == ROLE_GRAFANA ? "/var/lib/grafana" : IMAGE_PG_DATA;
}

/*
 * What the container was made from; a container whose label differs was
 * made from an older config and is made again (its volume stays).
 */
static void
docker_signature(const struct config *cfg, const struct service_def *svc,
    bool probe, char *buf, size_t len)
{
	/* v2: PostgreSQL containers run with PG_SERVER_TUNABLES */
	/* v3: ... and write jsonlog to a bind-mounted host directory */
	/* issue 18: " probe": ... and load the in-server probe */
	snprintf(buf, len, "v3 %s port=%d user=%s db=%s%s",
	    docker_image_for(cfg, svc->role), svc->port, cfg->lab.user,
	    cfg->lab.database, probe ? " probe" : "");
	/*
	 * issue 15: a node's settings and limits are the container's command
	 * line and HostConfig: a change makes the container again (its volume
	 * stays), which is the docker backend's restart for them.  A hash:
	 * the label stays short.
	 */
	if (svc->node != NULL && (svc->node->settings[0] != '\0' ||
	    svc->node->memory_bytes > 0 || svc->node->cpus > 0)) {
		uint64_t h = 0xcbf29ce484222325ULL;
		size_t n = strlen(buf);
		for (const char *c = svc->node->settings; *c != '\0'; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
		snprintf(buf + n, len - n, " settings=%016llx mem=%lld cpus=%g",
		    (unsigned long long)h, svc->node->memory_bytes,
		    svc->node->cpus);
	}
}

/*
 * The image, pulled when missing and a registry answers.  Our own images
 * (labsup/...) are never pulled: a registry's namesake is not ours.
 */
static int
docker_have_image(const struct config *cfg, struct engine *e,
    const struct service_def *svc, struct service_obs *obs)
{
	struct docker_svc *ds = docker_state(svc->name);
	const char *img = docker_image_for(cfg, svc->role);
	char repo[CFG_STR], tag[CFG_STR], er[CFG_STR * 3], et[CFG_STR * 3];
	char path[CFG_STR * 6 + 64];
	const char *serr;
	long st, saved;

	if (image_present(e, img))
		return 0;
	if (image_is_local(img)) {
		snprintf(obs->detail, sizeof(obs->detail), "image %s is "
		    "missing: run `labsup image build`", img);
		return -1;
	}
	if (ds->pull_failed_ns != 0 &&
	    mono_ns() - ds->pull_failed_ns < DOCKER_PULL_RETRY_NS)
		return -1;	/* detail still says why */
	engine_split_image(img, repo, sizeof(repo), tag, sizeof(tag));
	if (engine_escape(repo, er, sizeof(er)) == -1 ||
	    engine_escape(tag, et, sizeof(et)) == -1)
		return -1;
	snprintf(path, sizeof(path), "/images/create?fromImage=%s&tag=%s", er,
	    et);
	log_info("docker: pulling %s", img);
	saved = e->timeout_ms;
	e->timeout_ms = 600000;
	st = docker_call(e, "POST", path, NULL, NULL);
	e->timeout_ms = saved;
	serr = st == 200 ? engine_stream_error(e->buf, e->len) : NULL;
	if (st == 200 && serr == NULL)
		return 0;
	ds->pull_failed_ns = mono_ns();
	/* short: status shows 120 characters of it */
	snprintf(obs->detail, sizeof(obs->detail), "no image %s and no "
	    "registry: %s", img, svc->role == ROLE_GRAFANA ?
	    "docker load it, or [grafana] enabled = no" :
	    "run `labsup image build`");
	return -1;
}


/*
 * Grafana loads the lab's datasource and dashboards from the source tree's
 * grafana/ (cfg->grafana.dir), mounted read-only where the official image
 * looks for provisioning.
 */
static void
docker_grafana_mounts(const struct config *cfg, json_t *mounts)
{
	char src[CFG_PATH + 32];

	if (mounts == NULL)
		return;
	snprintf(src, sizeof(src), "%s/provisioning", cfg->grafana.dir);
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b}",
	    "Type", "bind", "Source", src, "Target",
	    "/etc/grafana/provisioning", "ReadOnly", 1));
	snprintf(src, sizeof(src), "%s/dashboards", cfg->grafana.dir);
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b}",
	    "Type", "bind", "Source", src, "Target",
	    DOCKER_GRAFANA_DASHBOARDS, "ReadOnly", 1));
}

/* -c name=value onto a postgres command line. */
static void
docker_cmd_set(json_t *cmd, const char *name, const char *value)
{
	char arg[256];

	snprintf(arg, sizeof(arg), "%s=%s", name, value);
	json_array_append_new(cmd, json_string("-c"));
	json_array_append_new(cmd, json_string(arg));
}

/*
 * issue 18: whether a node's container loads the in-server probe: the
 * config wants it ([sampler] enabled, source not sql) and the PostgreSQL
 * image carries one of this labsup's segment layout (its label).  An
 * image is asked once per process (a reload may name another): one built
 * again meanwhile counts from labsup's next start (its containers are
 * made again then).
 */
static bool
docker_with_probe(const struct config *cfg, struct engine *e,
    const struct service_def *svc)
{
	static char asked[CFG_STR];	/* the image it was asked of */
	static bool have;

	if (svc->node == NULL || !cfg->sampler.enabled ||
	    cfg->sampler.source == SAMPLER_SQL)
		return false;
	if (strcmp(asked, cfg->docker.image_postgres) != 0) {
		have = image_has_probe(e, cfg->docker.image_postgres);
		snprintf(asked, sizeof(asked), "%s", cfg->docker.image_postgres);
	}
	return have;
}

/*
 * The lab's probe directory (shm/probe.h), bind-mounted where the probe
 * in the container opens its node's segment: the directory, not the file,
 * so the segment a restarted labsup makes again is seen there too.
 */
static void
docker_probe_mount(const struct config *cfg, json_t *mounts)
{
	char dir[PATH_MAX], err[PATH_MAX + 64];

	if (probe_seg_mkdir(cfg->lab.name, err, sizeof(err)) == -1) {
		log_warnx("docker: %s", err);
		return;
	}
	probe_seg_dir(dir, sizeof(dir), cfg->lab.name);
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s}", "Type",
	    "bind", "Source", dir, "Target", IMAGE_PROBE_DIR));
}

/*
 * The settings every node runs with (pg_settings.c), between this
 * backend's own: the container listens on its network, and docker logs
 * already tell the containers apart.
 */
static json_t *
docker_pg_cmd(const struct service_def *svc, bool probe)
{
	json_t *cmd = json_pack("[s]", "postgres");
	char name[80], value[CFG_STR * 4];
	const char *p;

	if (cmd == NULL)
		return NULL;
	docker_cmd_set(cmd, "listen_addresses", "*");
	for (size_t i = 0; i < pg_nsettings; i++)
		docker_cmd_set(cmd, pg_settings[i].name, pg_settings[i].value);
	docker_cmd_set(cmd, "log_line_prefix", "%m [%p] ");
	/* issue 16: the jsonlog where the host reads it (docker_log_mount) */
	docker_cmd_set(cmd, "log_directory", DOCKER_PG_LOG_DIR);
	/* the container's server user is not the host's: let it read them */
	docker_cmd_set(cmd, "log_file_mode", "0644");
	if (probe) {
		snprintf(value, sizeof(value), IMAGE_PROBE_DIR "/%s",
		    svc->name);
		docker_cmd_set(cmd, "shared_preload_libraries", IMAGE_PROBE_SO);
		docker_cmd_set(cmd, PROBE_GUC, value);
	}
	/* issue 15: the node's own settings last, so they win */
	p = svc->node != NULL ? svc->node->settings : "";
	while (config_setting_next(&p, name, sizeof(name), value,
	    sizeof(value)) == 1)
		docker_cmd_set(cmd, name, value);
	return cmd;
}

/*
 * issue 16: the node's log directory on the host (lab_node_log_dir),
 * bind-mounted at DOCKER_PG_LOG_DIR.  The container's postgres user has
 * some uid of the image's: the directory is writable by all, behind the
 * state directory, which only the lab's user can enter.
 */
static int
docker_log_mount(const struct config *cfg, const struct service_def *svc,
    json_t *mounts)
{
	char dir[PATH_MAX], parent[PATH_MAX];

	if (lab_node_log_dir(cfg, svc->name, true, dir, sizeof(dir)) == -1 ||
	    lab_path(cfg, "pglog", parent, sizeof(parent)) == -1)
		return -1;
	if ((mkdir(parent, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(dir, 0777) == -1 && errno != EEXIST) ||
	    chmod(dir, 0777) == -1) {
		log_warn("cannot make %s for %s's server log", dir, svc->name);
		return -1;
	}
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s}", "Type",
	    "bind", "Source", dir, "Target", DOCKER_PG_LOG_DIR));
	return 0;
}

static json_t *
docker_create_body(const struct config *cfg, const struct service_def *svc,
    bool probe)
{
	char net[DOCKER_NAME], vol[DOCKER_NAME], sig[512], port[16];
	char inner[16], e1[128], e2[128];
	json_t *body, *env, *cmd = NULL;

	docker_net_name(cfg, net, sizeof(net));
	docker_vol_name(cfg, svc->name, vol, sizeof(vol));
	docker_signature(cfg, svc, probe, sig, sizeof(sig));
	snprintf(port, sizeof(port), "%d", svc->port);
	snprintf(inner, sizeof(inner), "%d/tcp", docker_inner_port(svc->role));

	env = json_array();
	if (svc->role == ROLE_PUBLISHER || svc->role == ROLE_SUBSCRIBER) {
		snprintf(e1, sizeof(e1), "LABSUP_USER=%s", cfg->lab.user);
		json_array_append_new(env, json_string(e1));
		snprintf(e2, sizeof(e2), "LABSUP_DB=%s", cfg->lab.database);
		json_array_append_new(env, json_string(e2));
		/* paths, not secrets: the official image reads these too */
		snprintf(e1, sizeof(e1), "POSTGRES_USER=%s", cfg->lab.user);
		json_array_append_new(env, json_string(e1));
		snprintf(e2, sizeof(e2), "POSTGRES_DB=%s", cfg->lab.database);
		json_array_append_new(env, json_string(e2));
		json_array_append_new(env, json_string(
		    "POSTGRES_PASSWORD_FILE=/run/labsup/password"));
		json_array_append_new(env, json_string(
		    "PGPASSFILE=/run/labsup/pgpass"));
		json_array_append_new(env, json_string(PG_SERVER_TUNABLES));
		cmd = docker_pg_cmd(svc, probe);
	} else if (svc->role == ROLE_GRAFANA) {
		json_array_append_new(env, json_string(
		    "GF_SECURITY_ADMIN_PASSWORD__FILE=/run/labsup/grafana_admin"));
		json_array_append_new(env, json_string(
		    "GF_ANALYTICS_REPORTING_ENABLED=false"));
		/* grafana/provisioning reads these (see its YAML files) */
		json_array_append_new(env, json_string(
		    "LABSUP_INFLUX_URL=http://influxdb:8086"));
		snprintf(e1, sizeof(e1), "LABSUP_INFLUX_DB=%s",
		    cfg->influx.version == 2 ? cfg->influx.bucket :
		    cfg->influx.database);
		json_array_append_new(env, json_string(e1));
		json_array_append_new(env, json_string(
		    "LABSUP_DASHBOARDS=" DOCKER_GRAFANA_DASHBOARDS));
	}

	body = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{}},"
	    " s:{s:{s:[{s:s, s:s}]}, s:[{s:s, s:s, s:s}], s:s, s:I,"
	    " s:{s:s}},"
	    " s:{s:{s:{s:[s]}}}}",
	    "Image", docker_image_for(cfg, svc->role),
	    "Hostname", svc->name,
	    "Labels", DOCKER_LABEL_LAB, cfg->lab.name, DOCKER_LABEL_SVC,
	    svc->name, DOCKER_LABEL_CFG, sig,
	    "Env", env,
	    "ExposedPorts", inner,
	    "HostConfig",
	    "PortBindings", inner, "HostIp", "127.0.0.1", "HostPort", port,
	    "Mounts", "Type", "volume", "Source", vol, "Target",
	    docker_data_dir(svc->role),
	    "NetworkMode", net,
	    "ShmSize", (json_int_t)256 << 20,
	    /* the worker restarts dead containers: it must see them die */
	    "RestartPolicy", "Name", "no",
	    "NetworkingConfig", "EndpointsConfig", net, "Aliases", svc->name);
	if (body != NULL && cmd != NULL)
		json_object_set_new(body, "Cmd", cmd);
	else
		json_decref(cmd);
	if (body != NULL && (svc->role == ROLE_PUBLISHER ||
	    svc->role == ROLE_SUBSCRIBER))
		(void)docker_log_mount(cfg, svc, json_object_get(
		    json_object_get(body, "HostConfig"), "Mounts"));
	if (body != NULL && probe)
		docker_probe_mount(cfg, json_object_get(json_object_get(body,
		    "HostConfig"), "Mounts"));
	/* issue 15: [node] memory and cpus, as docker run -m and --cpus */
	if (body != NULL && svc->node != NULL) {
		json_t *hc = json_object_get(body, "HostConfig");
		if (svc->node->memory_bytes > 0)
			json_object_set_new(hc, "Memory",
			    json_integer(svc->node->memory_bytes));
		if (svc->node->cpus > 0)
			json_object_set_new(hc, "NanoCpus", json_integer(
			    (json_int_t)(svc->node->cpus * 1e9)));
	}
	if (body != NULL && svc->role == ROLE_GRAFANA)
		docker_grafana_mounts(cfg, json_object_get(json_object_get(body,
		    "HostConfig"), "Mounts"));
	return body;
}

static int
docker_create(const struct config *cfg, struct engine *e,
    const struct service_def *svc, struct service_obs *obs, char *id,
    size_t idlen)
{
	char name[DOCKER_NAME], vol[DOCKER_NAME], path[DOCKER_NAME + 64];
	json_t *body, *resp = NULL;
	const char *cid;
	long st;

	if (docker_have_image(cfg, e, svc, obs) == -1)
		return -1;
	docker_vol_name(cfg, svc->name, vol, sizeof(vol));
	body = json_pack("{s:s, s:{s:s, s:s}}", "Name", vol, "Labels",
	    DOCKER_LABEL_LAB, cfg->lab.name, DOCKER_LABEL_SVC, svc->name);
	st = docker_call(e, "POST", "/volumes/create", body, &resp);
	json_decref(body);
	if (st != 201 && st != 200) {
		engine_errmsg(e, resp, vol, obs->detail, sizeof(obs->detail));
		json_decref(resp);
		return -1;
	}
	json_decref(resp);
	resp = NULL;

	docker_ctr_name(cfg, svc->name, name, sizeof(name));
	if ((body = docker_create_body(cfg, svc, docker_with_probe(cfg, e,
	    svc))) == NULL) {
		snprintf(obs->detail, sizeof(obs->detail), "cannot build the "
		    "container config (out of memory?)");
		return -1;
	}
	snprintf(path, sizeof(path), "/containers/create?name=%s", name);
	st = docker_call(e, "POST", path, body, &resp);
	json_decref(body);
	if (st != 201 || (cid = json_string_value(json_object_get(resp,
	    "Id"))) == NULL) {
		engine_errmsg(e, resp, name, obs->detail, sizeof(obs->detail));
		json_decref(resp);
		return -1;
	}
	snprintf(id, idlen, "%s", cid);
	json_decref(resp);
	log_info("docker: container %s created", name);
	return 0;
}

static int
docker_start(const struct config *cfg, struct engine *e,
    const struct service_def *svc, const char *id, struct service_obs *obs)
{
	char path[160], what[DOCKER_NAME + 16];
	json_t *resp = NULL;
	long st;

	if (svc->role != ROLE_INFLUXDB &&
	    docker_put_secrets(cfg, e, svc, id, obs->detail,
	    sizeof(obs->detail)) == -1)
		return -1;
	/* issue 18: the directory its mount names (a reboot empties tmpfs) */
	if (docker_with_probe(cfg, e, svc)) {
		char err[PATH_MAX + 64];

		if (probe_seg_mkdir(cfg->lab.name, err, sizeof(err)) == -1)
			log_warnx("docker: %s", err);
	}
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	st = docker_call(e, "POST", path, NULL, &resp);
	if (st != 204 && st != 304) {
		docker_state(svc->name)->start_failed_ns = mono_ns();
		docker_ctr_name(cfg, svc->name, what, sizeof(what));
		engine_errmsg(e, resp, what, obs->detail, sizeof(obs->detail));
		json_decref(resp);
		return -1;
	}
	json_decref(resp);
	docker_state(svc->name)->started_ns = mono_ns();
	return 0;
}

static int
docker_remove(struct engine *e, const char *id)
{
	char path[160];
	long st;

	snprintf(path, sizeof(path), "/containers/%s?force=1", id);
	st = docker_call(e, "DELETE", path, NULL, NULL);
	return st == 204 || st == 404 ? 0 : -1;
}

/*
 * The last line a dead container wrote, for the failure's detail.  Logs
 * come multiplexed: frames of an 8-byte header (stream, 0, 0, 0, size in
 * big-endian) and the payload.
 */
static void
docker_last_log(struct engine *e, const char *id, char *out, size_t len)
{
	char path[160], line[256] = "";
	const unsigned char *p, *end;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1"
	    "&tail=5", id);
	if (docker_call(e, "GET", path, NULL, NULL) != 200 || e->len == 0)
		return;
	p = (const unsigned char *)e->buf;
	end = p + e->len;
	while (p + 8 <= end) {
		size_t n = (size_t)p[4] << 24 | (size_t)p[5] << 16 |
		    (size_t)p[6] << 8 | p[7];

		p += 8;
		if (n > (size_t)(end - p))
			n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
			n--;
		if (n > 0)
			snprintf(line, sizeof(line), "%.*s", (int)n, p);
		p += n;
		while (p < end && (*p == '\n' || *p == '\r'))
			p++;
	}
	snprintf(out, len, "%s", line);
}

/* Is the server inside answering on its published port? */
static bool
docker_ready(const struct config *cfg, const struct service_def *svc,
    struct docker_svc *ds, struct service_obs *obs)
{
	char url[128], body[192], q[128], *esc;
	long code = 0;
	CURL *c;

	if (svc->role == ROLE_PUBLISHER || svc->role == ROLE_SUBSCRIBER) {
		char port[16];
		const char *k[] = { "host", "port", "dbname", "connect_timeout",
		    NULL };
		const char *v[] = { "127.0.0.1", port, cfg->lab.database, "2",
		    NULL };

		snprintf(port, sizeof(port), "%d", svc->port);
		if (PQpingParams(k, v, 0) == PQPING_OK)
			return true;
		snprintf(obs->detail, sizeof(obs->detail), "waiting for "
		    "PostgreSQL in the container");
		return false;
	}
	if ((c = curl_easy_init()) == NULL)
		return false;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s", svc->port,
	    svc->role == ROLE_GRAFANA ? "api/health" : "ping");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_NOBODY, svc->role == ROLE_INFLUXDB);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300 && svc->role == ROLE_INFLUXDB &&
	    !ds->provisioned) {
		/* CREATE DATABASE is a no-op when it exists */
		snprintf(q, sizeof(q), "CREATE DATABASE \"%s\"",
		    cfg->influx.database);
		esc = curl_easy_escape(c, q, 0);
		snprintf(body, sizeof(body), "q=%s", esc != NULL ? esc : "");
		curl_free(esc);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/query",
		    svc->port);
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		code = 0;
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		ds->provisioned = code == 200;
	}
	curl_easy_cleanup(c);
	if (code >= 200 && code < 300)
		return true;
	snprintf(obs->detail, sizeof(obs->detail), "waiting for %s in the "
	    "container", svc->role == ROLE_GRAFANA ? "Grafana" : "InfluxDB");
	return false;
}

static int
docker_ensure(const struct config *cfg, const struct service_def *svc,
    struct service_obs *obs)
{
	struct docker_svc *ds = docker_state(svc->name);
	char name[DOCKER_NAME], path[DOCKER_NAME + 32], sig[512], id[72] = "";
	char last[160];
	const char *have, *status;
	char status_buf[32];
	json_t *ctr = NULL, *state;
	struct engine *e;
	bool running;
	long st;
	int code;

	obs->pid = 0;
	if ((e = docker_engine(cfg, obs->detail, sizeof(obs->detail))) ==
	    NULL) {
		obs->state = SS_FAILED;
		return -1;
	}
	docker_ctr_name(cfg, svc->name, name, sizeof(name));
	snprintf(path, sizeof(path), "/containers/%s/json", name);
	st = docker_call(e, "GET", path, NULL, &ctr);
	if (st == 200 && !docker_ours(cfg, ctr)) {
		json_decref(ctr);
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "a container %s "
		    "exists that is not this lab's: remove it or rename the lab",
		    name);
		return -1;
	}
	if (st == 200) {
		snprintf(id, sizeof(id), "%s", docker_str(ctr, "Id"));
		have = json_string_value(json_object_get(json_object_get(
		    json_object_get(ctr, "Config"), "Labels"), DOCKER_LABEL_CFG));
		docker_signature(cfg, svc, docker_with_probe(cfg, e, svc), sig,
		    sizeof(sig));
		if (have == NULL || strcmp(have, sig) != 0) {
			/* made from another config: make it again */
			log_info("docker: %s was made from another config; "
			    "recreating it (data stays)", name);
			json_decref(ctr);
			ctr = NULL;
			if (docker_remove(e, id) == -1) {
				engine_errmsg(e, NULL, name, obs->detail,
				    sizeof(obs->detail));
				obs->state = SS_FAILED;
				return -1;
			}
			st = 404;
		}
	}
	if (st == 404) {
		json_decref(ctr);
		if (docker_create(cfg, e, svc, obs, id, sizeof(id)) == -1 ||
		    docker_start(cfg, e, svc, id, obs) == -1) {
			obs->state = svc->role == ROLE_GRAFANA ?
			    SS_UNAVAILABLE : SS_FAILED;
			return -1;
		}
		snprintf(obs->id, sizeof(obs->id), "%s", id);
		obs->state = SS_STARTING;
		snprintf(obs->detail, sizeof(obs->detail), "container started");
		return 0;
	}
	if (st != 200) {
		engine_errmsg(e, ctr, name, obs->detail, sizeof(obs->detail));
		json_decref(ctr);
		obs->state = SS_FAILED;
		return -1;
	}
	snprintf(obs->id, sizeof(obs->id), "%s", id);
	state = json_object_get(ctr, "State");
	running = json_is_true(json_object_get(state, "Running"));
	/* copied: ctr (which owns the string) is released below */
	status = json_string_value(json_object_get(state, "Status"));
	snprintf(status_buf, sizeof(status_buf), "%s", status ? status : "");
	status = status_buf[0] ? status_buf : NULL;
	code = (int)json_integer_value(json_object_get(state, "ExitCode"));
	if (running) {
		obs->pid = (int32_t)json_integer_value(json_object_get(state,
		    "Pid"));
		json_decref(ctr);
		obs->state = docker_ready(cfg, svc, ds, obs) ? SS_READY :
		    SS_STARTING;
		if (obs->state == SS_READY)
			obs->detail[0] = '\0';
		return 0;
	}
	json_decref(ctr);
	/* the engine refused to start it (a taken port): not every pass */
	if (ds->start_failed_ns != 0 && obs->state == SS_FAILED &&
	    mono_ns() - ds->start_failed_ns < DOCKER_RETRY_NS)
		return -1;
	/* dead: start it again, unless it died right after we started it */
	if (ds->started_ns != 0 && strcmp(status != NULL ? status : "", "created") != 0 &&
	    mono_ns() - ds->started_ns < DOCKER_FLAP_NS + DOCKER_RETRY_NS) {
		if (obs->state != SS_FAILED) {
			docker_last_log(e, id, last, sizeof(last));
			snprintf(obs->detail, sizeof(obs->detail), "container "
			    "exited (code %d) right after its start: %s", code,
			    last[0] ? last : "no output");
		}
		obs->state = SS_FAILED;
		if (mono_ns() - ds->started_ns < DOCKER_RETRY_NS)
			return -1;
	}
	if (docker_start(cfg, e, svc, id, obs) == -1) {
		obs->state = SS_FAILED;
		return -1;
	}
	log_info("docker: %s was %s (exit code %d); started it again", name,
	    status != NULL ? status : "stopped", code);
	obs->state = SS_STARTING;
	snprintf(obs->detail, sizeof(obs->detail), "container restarted");
	return 0;
}

static int
docker_stats(const struct config *cfg, const struct service_def *svc,
    struct service_obs *obs)
{
	struct docker_svc *ds = docker_state(svc->name);
	struct engine_stats cur;
	char name[DOCKER_NAME], path[DOCKER_NAME + 64];
	struct engine *e;
	json_t *j = NULL;
	long st;

	if ((e = docker_engine(cfg, obs->detail, sizeof(obs->detail))) == NULL)
		return -1;
	docker_ctr_name(cfg, svc->name, name, sizeof(name));
	/* one-shot (API 1.41): no wait for a second sample; we keep ours */
	snprintf(path, sizeof(path), "/containers/%s/stats?stream=false%s",
	    name, engine_api_num(e->api) >= 141 ? "&one-shot=true" : "");
	st = docker_call(e, "GET", path, NULL, &j);
	if (st != 200 || engine_stats_parse(j, &cur) == -1) {
		json_decref(j);
		return -1;
	}
	json_decref(j);
	obs->cpu_pct = engine_cpu_pct(&ds->prev, &cur);
	obs->mem_bytes = cur.mem_bytes;
	obs->net_rx_bytes = cur.rx_bytes;
	obs->net_tx_bytes = cur.tx_bytes;
	ds->prev = cur;
	return 0;
}

static int
docker_stop(const struct config *cfg, const struct service_def *svc,
    bool purge, char *err, size_t errlen)
{
	char name[DOCKER_NAME], path[DOCKER_NAME + 64], id[72];
	struct engine *e;
	json_t *ctr = NULL;
	long st;

	if ((e = docker_engine(cfg, err, errlen)) == NULL)
		return -1;
	docker_ctr_name(cfg, svc->name, name, sizeof(name));
	snprintf(path, sizeof(path), "/containers/%s/json", name);
	st = docker_call(e, "GET", path, NULL, &ctr);
	if (st == 200) {
		if (!docker_ours(cfg, ctr)) {
			json_decref(ctr);
			snprintf(err, errlen, "container %s is not this lab's: "
			    "left alone", name);
			return -1;
		}
		snprintf(id, sizeof(id), "%s", docker_str(ctr, "Id"));
		json_decref(ctr);
		/* a fast shutdown, like pg_ctl -m fast: SIGTERM to postgres */
		snprintf(path, sizeof(path), "/containers/%s/stop?t=20", id);
		e->timeout_ms = 60000;
		st = docker_call(e, "POST", path, NULL, NULL);
		e->timeout_ms = 30000;
		if (docker_remove(e, id) == -1) {
			engine_errmsg(e, NULL, name, err, errlen);
			return -1;
		}
	} else {
		json_decref(ctr);
		if (st != 404) {
			engine_errmsg(e, NULL, name, err, errlen);
			return -1;
		}
	}
	if (purge) {
		char vol[DOCKER_NAME];

		docker_vol_name(cfg, svc->name, vol, sizeof(vol));
		snprintf(path, sizeof(path), "/volumes/%s", vol);
		ctr = NULL;
		if (docker_call(e, "GET", path, NULL, &ctr) == 200 &&
		    docker_ours(cfg, ctr))
			(void)docker_call(e, "DELETE", path, NULL, NULL);
		json_decref(ctr);
	}
	return 0;
}

static json_t *docker_list(const struct config *cfg, struct engine *e,
    const char *what);

/* The lab's node containers whose service the config no longer names. */
static int
docker_orphans(const struct config *cfg, struct service_def *out, int max)
{
	struct service_def want[CFG_MAX_NODES + 2];
	int nwant = backend_services(cfg, want, CFG_MAX_NODES + 2), n = 0;
	char err[256];
	struct engine *e = docker_engine(cfg, err, sizeof(err));
	json_t *list, *v;
	size_t i;

	if (e == NULL || (list = docker_list(cfg, e, "containers/json")) == NULL)
		return 0;
	json_array_foreach(list, i, v) {
		const char *svc = json_string_value(json_object_get(
		    json_object_get(v, "Labels"), DOCKER_LABEL_SVC));
		bool known = svc == NULL || !strcmp(svc, "influxdb") ||
		    !strcmp(svc, "grafana");
		for (int k = 0; k < nwant && !known; k++)
			known = !strcmp(want[k].name, svc);
		if (known || n >= max || strlen(svc) >= sizeof(out[n].name))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		snprintf(out[n].name, sizeof(out[n].name), "%s", svc);
		out[n].role = ROLE_SUBSCRIBER;
		n++;
	}
	json_decref(list);
	return n;
}

/* GET a list filtered by our lab label: containers or volumes. */
static json_t *
docker_list(const struct config *cfg, struct engine *e, const char *what)
{
	char filt[256], esc[768], path[1024];
	json_t *out = NULL;

	snprintf(filt, sizeof(filt), "{\"label\":[\"%s=%s\"]}",
	    DOCKER_LABEL_LAB, cfg->lab.name);
	if (engine_escape(filt, esc, sizeof(esc)) == -1)
		return NULL;
	snprintf(path, sizeof(path), "/%s%sfilters=%s", what,
	    strcmp(what, "containers/json") == 0 ? "?all=1&" : "?", esc);
	if (docker_call(e, "GET", path, NULL, &out) != 200) {
		json_decref(out);
		return NULL;
	}
	return out;
}

static int
docker_teardown(const struct config *cfg, bool purge, char *err,
    size_t errlen)
{
	char net[DOCKER_NAME], path[DOCKER_NAME + 64];
	json_t *list, *v, *obj = NULL;
	struct engine *e;
	size_t i;
	int rc = 0;

	if ((e = docker_engine(cfg, err, errlen)) == NULL)
		return -1;
	/* leftovers: services no longer in the config */
	if ((list = docker_list(cfg, e, "containers/json")) != NULL) {
		json_array_foreach(list, i, v) {
			const char *id = json_string_value(json_object_get(v,
			    "Id"));
			const char *lab = json_string_value(json_object_get(
			    json_object_get(v, "Labels"), DOCKER_LABEL_LAB));

			/* the filter said so; check anyway, it is cheap */
			if (id != NULL && lab != NULL &&
			    strcmp(lab, cfg->lab.name) == 0 &&
			    docker_remove(e, id) == -1)
				rc = -1;
		}
		json_decref(list);
	}
	docker_net_name(cfg, net, sizeof(net));
	snprintf(path, sizeof(path), "/networks/%s", net);
	if (docker_call(e, "GET", path, NULL, &obj) == 200 &&
	    docker_ours(cfg, obj)) {
		long st = docker_call(e, "DELETE", path, NULL, NULL);

		if (st != 204 && st != 404) {
			engine_errmsg(e, NULL, net, err, errlen);
			rc = -1;
		}
	}
	json_decref(obj);
	/* issue 18: the probe directory, now that no container mounts it */
	probe_seg_dir(path, sizeof(path), cfg->lab.name);
	(void)rm_rf(path);
	if (purge && (list = docker_list(cfg, e, "volumes")) != NULL) {
		json_array_foreach(json_object_get(list, "Volumes"), i, v) {
			const char *vn = json_string_value(json_object_get(v,
			    "Name"));

			if (vn == NULL || !docker_ours(cfg, v))
				continue;
			snprintf(path, sizeof(path), "/volumes/%s", vn);
			if (docker_call(e, "DELETE", path, NULL, NULL) != 204)
				rc = -1;
		}
		json_decref(list);
	}
	if (rc == -1 && err[0] == '\0')
		snprintf(err, errlen, "some of lab %s's Docker objects could "
		    "not be removed: see `docker ps -a --filter label=%s=%s`",
		    cfg->lab.name, DOCKER_LABEL_LAB, cfg->lab.name);
	return rc;
}

static int
docker_peer_addr(const struct config *cfg, const struct node_cfg *pub,
    char *host, size_t hostlen, int *port)
{
	/* the publisher's container name resolves on the lab network */
	docker_ctr_name(cfg, pub->name, host, hostlen);
	*port = 5432;
	return 0;
}

static int
docker_network(const struct config *cfg, const struct node_cfg *node,
    char *net, size_t netlen, char *host, size_t hostlen, int *port)
{
	docker_net_name(cfg, net, netlen);
	docker_ctr_name(cfg, node->name, host, hostlen);
	*port = docker_inner_port(node->role == NODE_PUBLISHER ?
	    ROLE_PUBLISHER : ROLE_SUBSCRIBER);
	return 0;
}

/*
 * A subscriber's container reaches the host at the lab network's gateway:
 * the link listens there alone (not on 0.0.0.0), and reaches the
 * publisher at its port published on 127.0.0.1.
 */
static int
docker_link_addr(const struct config *cfg, char *listen, size_t listenlen,
    char *up, size_t uplen, int *up_port, char *err, size_t errlen)
{
	char net[DOCKER_NAME], path[DOCKER_NAME + 32];
	struct engine *e = docker_engine(cfg, err, errlen);
	json_t *obj = NULL;
	const char *gw = NULL;
	long st;

	if (e == NULL)
		return -1;
	docker_net_name(cfg, net, sizeof(net));
	snprintf(path, sizeof(path), "/networks/%s", net);
	st = docker_call(e, "GET", path, NULL, &obj);
	if (st == 200)
		gw = json_string_value(json_object_get(json_array_get(
		    json_object_get(json_object_get(obj, "IPAM"), "Config"), 0),
		    "Gateway"));
	if (gw == NULL || gw[0] == '\0') {
		if (st == 200)
			snprintf(err, errlen, "the Docker network %s has no "
			    "gateway address", net);
		else
			snprintf(err, errlen, "waiting for the Docker network "
			    "%s", net);
		json_decref(obj);
		return -1;
	}
	snprintf(listen, listenlen, "%s", gw);
	json_decref(obj);
	snprintf(up, uplen, "127.0.0.1");
	*up_port = config_publisher(cfg)->port;
	return 0;
}

const struct backend_ops backend_docker = {
	.name = "docker",
	.probe = docker_probe,
	.prepare = docker_prepare,
	.ensure = docker_ensure,
	.stats = docker_stats,
	.stop = docker_stop,
	.teardown = docker_teardown,
	.peer_addr = docker_peer_addr,
	.orphans = docker_orphans,
	.network = docker_network,
	.link_addr = docker_link_addr,
};
