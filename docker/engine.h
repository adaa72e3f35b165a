/*
 * engine.h: a small Docker Engine API client (libcurl + jansson).  It talks
 * to /var/run/docker.sock, DOCKER_HOST=unix://... or tcp://... (TLS from
 * DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set), negotiates the API
 * version with GET /version, and turns failures into one line that says
 * what to do.  Also the tar writer the archive and import endpoints take.
 */
#ifndef LABSUP_ENGINE_H
#define LABSUP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

/* The oldest API we speak (networks, volumes, labels, import changes). */
#define ENGINE_API_MIN "1.25"
/* The newest we know; an engine that speaks more is asked for this. */
#define ENGINE_API_MAX "1.43"

#define ENGINE_ERR 512
#define ENGINE_ADDR 200

struct engine {
	void *curl;		/* CURL *, reused for keep-alive */
	char where[ENGINE_ADDR];	/* "/var/run/docker.sock", "tcp://h:p" */
	char sock[ENGINE_ADDR];		/* unix socket path, "" for tcp */
	char base[ENGINE_ADDR + 16];		/* "http://docker", "https://h:p" */
	char api[16];		/* negotiated, "1.41" */
	bool tls;
	char cert_dir[ENGINE_ADDR];
	long status;		/* HTTP status of the last request */
	char err[ENGINE_ERR];	/* the last error, one line */
	char *buf;		/* the last response body */
	size_t len, cap;
	long timeout_ms;	/* per request; 0 = none (pulls, imports) */
};

/*
 * Connect to the engine named by host ("" = $DOCKER_HOST, else the unix
 * socket) and negotiate the API version.  0, or -1 with e->err set.
 */
int engine_open(struct engine *e, const char *host);
void engine_close(struct engine *e);

/*
 * One request: method, path without the version prefix ("/containers/json"),
 * optional JSON body.  Returns the HTTP status, or -1 when the engine could
 * not be reached (e->err says why).  *out (when not NULL) gets the parsed
 * response or NULL when it is not one JSON document.
 */
long engine_json(struct engine *e, const char *method, const char *path,
    json_t *body, json_t **out);
/* The same with a raw body read from fp (a tar stream). */
long engine_upload(struct engine *e, const char *method, const char *path,
    FILE *fp, const char *ctype, json_t **out);

/*
 * The engine's message for a failed request, turned into one line that
 * says what to do (port taken, no such image, ...).  what names the
 * object ("container labsup-x-pub").
 */
void engine_errmsg(struct engine *e, const json_t *resp, const char *what,
    char *buf, size_t len);

/* url-encode s into buf (query parameters). */
int engine_escape(const char *s, char *buf, size_t len);

/*
 * Pure helpers, unit-tested.
 */
/* "1.41" -> 141; -1 when malformed. */
int engine_api_num(const char *v);
/*
 * Pick the version to speak from /version's ApiVersion and MinAPIVersion:
 * 0 and out set, or -1 with a reason in err (engine too old or too new).
 */
int engine_api_pick(const json_t *version, char *out, size_t outlen,
    char *err, size_t errlen);
/*
 * The first {"error": ...} (or errorDetail.message) in a progress stream
 * of concatenated JSON objects, as /images/create returns; NULL if none.
 * The result points into a static buffer.
 */
const char *engine_stream_error(const char *buf, size_t len);
/* "repo/name:tag" -> repo "repo/name", tag "tag" (default "latest"). */
void engine_split_image(const char *image, char *repo, size_t repolen,
    char *tag, size_t taglen);

struct engine_stats {
	uint64_t cpu_total;	/* ns of CPU used by the container */
	uint64_t cpu_system;	/* ns of CPU of the whole host */
	int online_cpus;
	int64_t mem_bytes;	/* usage minus page cache */
	int64_t rx_bytes, tx_bytes;
};
/* Parse GET /containers/{id}/stats; 0 or -1 when it is not stats. */
int engine_stats_parse(const json_t *j, struct engine_stats *s);
/* CPU % (100 = one core) between two samples; 0 when undefined. */
double engine_cpu_pct(const struct engine_stats *prev,
    const struct engine_stats *cur);

/*
 * Tar (ustar + GNU long names) written to fp.  type: '0' file, '2'
 * symlink (data = target), '5' directory.  Names are relative, no
 * leading '/'.  0 or -1 (errno).
 */
int engine_tar_add(FILE *fp, const char *name, char type, mode_t mode,
    uid_t uid, gid_t gid, const void *data, size_t len);
/* Add a host file's content (following symlinks) under name. */
int engine_tar_add_path(FILE *fp, const char *name, const char *src,
    mode_t mode, uid_t uid, gid_t gid);
/* The two zero blocks that end an archive. */
int engine_tar_end(FILE *fp);

#endif
