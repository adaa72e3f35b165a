/*
 * image.c: `labsup image build`: the PostgreSQL and InfluxDB images made
 * from the host's installed binaries and the shared libraries they load,
 * imported through the Engine API (POST /images/create?fromSrc=-) as one
 * layer we write as a tar in C.  Air-gapped machines need no registry.
 * Touches only the images it names; never a container.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/labsup.h"
#include "../lib/probe_so.h"
#include "../shm/probe.h"
#include "engine.h"
#include "image.h"

/*
 * The entrypoint script, linked into the binary from docker/images/ so an
 * installed labsup needs no source tree.  Its bytes end at _end.
 */
__asm__(".section .rodata\n"
	".global image_pg_entry\n"
	"image_pg_entry:\n"
	".incbin \"docker/images/postgres-entrypoint.sh\"\n"
	".global image_pg_entry_end\n"
	"image_pg_entry_end:\n"
	".byte 0\n"
	".previous\n");
extern const char image_pg_entry[], image_pg_entry_end[];

#define IMAGE_MAX_ENTRIES 8192

struct image_ctx {
	FILE *fp;
	char **names;		/* entries written, to skip repeats */
	size_t n;
	char err[ENGINE_ERR];
};

const char *
image_name(const struct config *cfg, int kind)
{
	return kind == IMAGE_POSTGRES ? cfg->docker.image_postgres :
	    cfg->docker.image_influxdb;
}

bool
image_is_local(const char *image)
{
	return strncmp(image, "labsup/", 7) == 0;
}

bool
image_present(struct engine *e, const char *image)
{
	char esc[CFG_STR * 3], path[CFG_STR * 3 + 32];

	if (engine_escape(image, esc, sizeof(esc)) == -1)
		return false;
	snprintf(path, sizeof(path), "/images/%s/json", esc);
	return engine_json(e, "GET", path, NULL, NULL) == 200;
}

bool
image_has_probe(struct engine *e, const char *image)
{
	char esc[CFG_STR * 3], path[CFG_STR * 3 + 32], want[16];
	json_t *obj = NULL;
	const char *v;
	bool rc;

	if (engine_escape(image, esc, sizeof(esc)) == -1)
		return false;
	snprintf(path, sizeof(path), "/images/%s/json", esc);
	if (engine_json(e, "GET", path, NULL, &obj) != 200) {
		json_decref(obj);
		return false;
	}
	v = json_string_value(json_object_get(json_object_get(
	    json_object_get(obj, "Config"), "Labels"), IMAGE_LABEL_PROBE));
	snprintf(want, sizeof(want), "%d", PROBE_VERSION);
	rc = v != NULL && strcmp(v, want) == 0;
	json_decref(obj);
	return rc;
}

static bool
image_seen(struct image_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->names[i], name) == 0)
			return true;
	return false;
}

static int
image_remember(struct image_ctx *c, const char *name)
{
	if (c->n >= IMAGE_MAX_ENTRIES) {
		snprintf(c->err, sizeof(c->err), "more than %d files in the "
		    "image: is the PostgreSQL directory the right one?",
		    IMAGE_MAX_ENTRIES);
		return -1;
	}
	if ((c->names[c->n] = strdup(name)) == NULL) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -1;
	}
	c->n++;
	return 0;
}

/* Directory entries for every parent of name ("a/b/c" -> "a", "a/b"). */
static int
image_parents(struct image_ctx *c, const char *name)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", name);
	for (char *p = strchr(buf, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (!image_seen(c, buf)) {
			if (engine_tar_add(c->fp, buf, '5', 0755, 0, 0, NULL,
			    0) == -1 || image_remember(c, buf) == -1)
				return -1;
		}
		*p = '/';
	}
	return 0;
}

static int
image_dir(struct image_ctx *c, const char *name, mode_t mode, uid_t uid,
    gid_t gid)
{
	if (image_parents(c, name) == -1)
		return -1;
	if (image_seen(c, name))
		return 0;
	if (engine_tar_add(c->fp, name, '5', mode, uid, gid, NULL, 0) == -1)
		return -1;
	return image_remember(c, name);
}

static int
image_data(struct image_ctx *c, const char *name, mode_t mode,
    const char *data, size_t len)
{
	if (image_parents(c, name) == -1 || image_remember(c, name) == -1)
		return -1;
	return engine_tar_add(c->fp, name, '0', mode, 0, 0, data, len);
}

/* A host file (following symlinks) at the same path in the image. */
static int
image_file(struct image_ctx *c, const char *src)
{
	const char *name = src + (src[0] == '/');
	struct stat st;

	if (image_seen(c, name))
		return 0;
	if (stat(src, &st) == -1) {
		snprintf(c->err, sizeof(c->err), "%s: %s", src, strerror(errno));
		return -1;
	}
	if (image_parents(c, name) == -1 || image_remember(c, name) == -1)
		return -1;
	if (engine_tar_add_path(c->fp, name, src, st.st_mode & 0777, 0,
	    0) == -1) {
		snprintf(c->err, sizeof(c->err), "%s: %s", src, strerror(errno));
		return -1;
	}
	return 0;
}

static bool
image_skip(const char *name, const char *const *skip)
{
	for (; skip != NULL && *skip != NULL; skip++)
		if (strcmp(name, *skip) == 0 ||
		    (strchr(*skip, '*') != NULL &&
		    strncmp(name, *skip, strcspn(*skip, "*")) == 0))
			return true;
	return false;
}

/* A host directory tree at the same path, symlinks kept as symlinks. */
static int
image_tree(struct image_ctx *c, const char *dir, const char *const *skip)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		snprintf(c->err, sizeof(c->err), "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (image_dir(c, dir + 1, 0755, 0, 0) == -1) {
		closedir(d);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char path[PATH_MAX], link[PATH_MAX];
		struct stat st;
		ssize_t n;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 || image_skip(de->d_name, skip))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == -1)
			continue;
		if (S_ISDIR(st.st_mode))
			rc = image_tree(c, path, skip);
		else if (S_ISLNK(st.st_mode)) {
			if ((n = readlink(path, link, sizeof(link) - 1)) < 0)
				continue;
			link[n] = '\0';
			if (!image_seen(c, path + 1) &&
			    (image_remember(c, path + 1) == -1 ||
			    engine_tar_add(c->fp, path + 1, '2', 0777, 0, 0,
			    link, (size_t)n) == -1))
				rc = -1;
		} else if (S_ISREG(st.st_mode))
			rc = image_file(c, path);
	}
	closedir(d);
	return rc;
}

/*
 * The shared libraries path loads, from ldd (run directly, no shell: the
 * path is ours, not user input), each added under its own path.
 */
static int
image_libs(struct image_ctx *c, const char *path)
{
	char line[PATH_MAX + 64];
	int fds[2], status;
	pid_t pid;
	FILE *in;

	if (pipe(fds) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execlp("ldd", "ldd", path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (in != NULL && fgets(line, sizeof(line), in) != NULL) {
		char *p = strstr(line, "=> "), *end;

		/* "libx.so => /lib/.../libx.so (0x..)" or "/lib64/ld-... (0x..)" */
		p = p != NULL ? p + 3 : line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '/')
			continue;
		end = strpbrk(p, " \t\n(");
		if (end != NULL)
			*end = '\0';
		if (image_file(c, p) == -1) {
			fclose(in);
			waitpid(pid, &status, 0);
			return -1;
		}
	}
	if (in != NULL)
		fclose(in);
	else
		close(fds[0]);
	waitpid(pid, &status, 0);
	/* ldd fails on scripts and static binaries: nothing to add then */
	return 0;
}

/* ldd every ELF file in dir (not recursive). */
static int
image_libs_dir(struct image_ctx *c, const char *dir, const char *const *skip)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char path[PATH_MAX], magic[4];
		struct stat st;
		FILE *f;

		if (de->d_name[0] == '.' || image_skip(de->d_name, skip))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fread(magic, 1, 4, f) == 4 && memcmp(magic, "\177ELF", 4) == 0)
			rc = image_libs(c, path);
		fclose(f);
	}
	closedir(d);
	return rc;
}

/*
 * issue 18: the in-server probe beside this labsup (probe_so_find) at
 * IMAGE_PROBE_SO, with its libraries.  1 when added, 0 when there is none
 * to add (a warning says why: the lab then samples over SQL), -1 on error.
 */
static int
image_probe(struct image_ctx *c)
{
	char so[CFG_PATH], why[512];
	struct stat st;

	if (probe_so_find(so, sizeof(so), why, sizeof(why)) == -1) {
		log_warnx("the PostgreSQL image gets no probe: %s", why);
		return 0;
	}
	if (probe_so_sanitized(so)) {
		log_warnx("the PostgreSQL image gets no probe: %s is built "
		    "with a sanitizer (build labsup without SANITIZE=1 for "
		    "images)", so);
		return 0;
	}
	if (stat(so, &st) == -1 || image_parents(c, IMAGE_PROBE_SO + 1) == -1 ||
	    image_remember(c, IMAGE_PROBE_SO + 1) == -1 ||
	    engine_tar_add_path(c->fp, IMAGE_PROBE_SO + 1, so, 0644, 0,
	    0) == -1) {
		if (c->err[0] == '\0')
			snprintf(c->err, sizeof(c->err), "%s: %s", so,
			    strerror(errno));
		return -1;
	}
	return image_libs(c, so) == -1 ? -1 : 1;
}

static int
image_etc(struct image_ctx *c, const char *user, unsigned uid, unsigned gid,
    const char *home)
{
	char buf[512];
	int n;

	n = snprintf(buf, sizeof(buf), "root:x:0:0:root:/root:/bin/sh\n"
	    "%s:x:%u:%u:%s:%s:/bin/sh\n", user, uid, gid, user, home);
	if (image_data(c, "etc/passwd", 0644, buf, (size_t)n) == -1)
		return -1;
	n = snprintf(buf, sizeof(buf), "root:x:0:\n%s:x:%u:\n", user, gid);
	if (image_data(c, "etc/group", 0644, buf, (size_t)n) == -1)
		return -1;
	n = snprintf(buf, sizeof(buf), "passwd: files\ngroup: files\n"
	    "hosts: files dns\n");
	if (image_data(c, "etc/nsswitch.conf", 0644, buf, (size_t)n) == -1)
		return -1;
	if (image_dir(c, "tmp", 01777, 0, 0) == -1)
		return -1;
	/* the usr/share/zoneinfo tree gives the lab UTC timestamps */
	if (access("/usr/share/zoneinfo", R_OK) == 0 &&
	    image_tree(c, "/usr/share/zoneinfo", (const char *const[]){
	    "right", NULL }) == -1)
		return -1;
	return 0;
}

/*
 * PostgreSQL: the bin and lib directories of pg_bin's installation, its
 * share directory, dash as /bin/sh for the entrypoint, and the libraries.
 * JIT (llvmjit, bitcode: libLLVM alone is 100 MB) and the build kit stay
 * out; the servers run with jit=off.
 */
static int
image_rootfs_postgres(struct image_ctx *c, const struct config *cfg,
    char *cmd_changes, size_t chlen)
{
	static const char *const libskip[] = { "llvmjit*", "bitcode", "pgxs",
	    NULL };
	static const char *const shareskip[] = { "man", NULL };
	char root[CFG_PATH], bin[CFG_PATH + 8], lib[CFG_PATH + 8];
	char share[CFG_PATH + 32], *slash;
	const char *ver;
	int probe;

	snprintf(root, sizeof(root), "%s", cfg->lab.pg_bin);
	if ((slash = strrchr(root, '/')) != NULL && strcmp(slash, "/bin") == 0)
		*slash = '\0';
	snprintf(bin, sizeof(bin), "%s/bin", root);
	snprintf(lib, sizeof(lib), "%s/lib", root);
	ver = (slash = strrchr(root, '/')) != NULL ? slash + 1 : "15";
	snprintf(share, sizeof(share), "/usr/share/postgresql/%s", ver);
	if (access(bin, X_OK) == -1 || access(share, R_OK) == -1) {
		snprintf(c->err, sizeof(c->err), "no PostgreSQL under %s and %s:"
		    " install postgresql-%s or set [lab] pg_bin", bin, share,
		    ver);
		return -1;
	}
	if (image_etc(c, "postgres", IMAGE_PG_UID, IMAGE_PG_GID,
	    "/var/lib/postgresql") == -1)
		return -1;
	if (image_file(c, "/bin/sh") == -1 || image_libs(c, "/bin/sh") == -1)
		return -1;
	if (image_tree(c, bin, NULL) == -1 || image_tree(c, lib, libskip) == -1 ||
	    image_tree(c, share, shareskip) == -1)
		return -1;
	if (image_libs_dir(c, bin, NULL) == -1 ||
	    image_libs_dir(c, lib, libskip) == -1)
		return -1;
	/* initdb asks `locale -a` for collations; C is all the lab uses */
	static const char locale_sh[] = "#!/bin/sh\necho C\necho POSIX\n";

	if (image_data(c, "usr/bin/locale", 0755, locale_sh,
	    sizeof(locale_sh) - 1) == -1)
		return -1;
	if (image_data(c, "usr/local/bin/labsup-entrypoint", 0755,
	    image_pg_entry, (size_t)(image_pg_entry_end - image_pg_entry)) == -1)
		return -1;
	if ((probe = image_probe(c)) == -1)
		return -1;
	if (image_dir(c, "var/lib/postgresql", 0755, IMAGE_PG_UID,
	    IMAGE_PG_GID) == -1 ||
	    image_dir(c, IMAGE_PG_DATA + 1, 0700, IMAGE_PG_UID,
	    IMAGE_PG_GID) == -1 ||
	    image_dir(c, "var/run/postgresql", 02775, IMAGE_PG_UID,
	    IMAGE_PG_GID) == -1 ||
	    image_dir(c, IMAGE_SECRETS + 1, 0700, IMAGE_PG_UID,
	    IMAGE_PG_GID) == -1)
		return -1;
	snprintf(cmd_changes, chlen, "ENV PATH=%s:/usr/bin:/bin\n"
	    "ENV PGDATA=" IMAGE_PG_DATA "\nENV TZ=UTC\nENV LANG=C\n"
	    "USER postgres\nWORKDIR /var/lib/postgresql\nEXPOSE 5432\n"
	    "ENTRYPOINT [\"/usr/local/bin/labsup-entrypoint\"]\n"
	    "LABEL labsup.image=postgres\n", bin);
	if (probe == 1) {
		size_t n = strlen(cmd_changes);

		snprintf(cmd_changes + n, chlen - n, "LABEL " IMAGE_LABEL_PROBE
		    "=%d\n", PROBE_VERSION);
	}
	return 0;
}

/* InfluxDB 1.x: influxd and its libraries; settings through the env. */
static int
image_rootfs_influxdb(struct image_ctx *c, char *cmd_changes, size_t chlen)
{
	const char *bin = "/usr/bin/influxd";

	if (access(bin, X_OK) == -1) {
		snprintf(c->err, sizeof(c->err), "no %s: install influxdb "
		    "(apt-get install influxdb)", bin);
		return -1;
	}
	if (image_etc(c, "influxdb", IMAGE_INFLUX_UID, IMAGE_INFLUX_GID,
	    IMAGE_INFLUX_DATA) == -1)
		return -1;
	if (image_file(c, bin) == -1 || image_libs(c, bin) == -1)
		return -1;
	if (image_dir(c, IMAGE_INFLUX_DATA + 1, 0755, IMAGE_INFLUX_UID,
	    IMAGE_INFLUX_GID) == -1)
		return -1;
	snprintf(cmd_changes, chlen,
	    "ENV INFLUXDB_META_DIR=" IMAGE_INFLUX_DATA "/meta\n"
	    "ENV INFLUXDB_DATA_DIR=" IMAGE_INFLUX_DATA "/data\n"
	    "ENV INFLUXDB_DATA_WAL_DIR=" IMAGE_INFLUX_DATA "/wal\n"
	    "ENV INFLUXDB_HTTP_BIND_ADDRESS=:8086\n"
	    "ENV INFLUXDB_BIND_ADDRESS=127.0.0.1:8088\n"
	    "ENV INFLUXDB_REPORTING_DISABLED=true\n"
	    "ENV INFLUXDB_HTTP_LOG_ENABLED=false\n"
	    "ENV INFLUXDB_DATA_QUERY_LOG_ENABLED=false\n"
	    "ENV TZ=UTC\nUSER influxdb\nWORKDIR " IMAGE_INFLUX_DATA "\n"
	    "EXPOSE 8086\nENTRYPOINT [\"/usr/bin/influxd\"]\n"
	    "LABEL labsup.image=influxdb\n");
	return 0;
}

/* The query string of POST /images/create for an import. */
static int
image_query(const char *image, const char *changes, char *q, size_t qlen)
{
	char repo[CFG_STR], tag[CFG_STR], esc[1024], line[512];
	size_t off;
	int n;

	engine_split_image(image, repo, sizeof(repo), tag, sizeof(tag));
	if (engine_escape(repo, esc, sizeof(esc)) == -1)
		return -1;
	n = snprintf(q, qlen, "/images/create?fromSrc=-&repo=%s", esc);
	if (engine_escape(tag, esc, sizeof(esc)) == -1)
		return -1;
	off = (size_t)n;
	off += (size_t)snprintf(q + off, qlen - off, "&tag=%s", esc);
	/* one changes= per Dockerfile instruction */
	for (const char *p = changes; *p != '\0';) {
		size_t l = strcspn(p, "\n");

		snprintf(line, sizeof(line), "%.*s", (int)l, p);
		if (engine_escape(line, esc, sizeof(esc)) == -1 || off >= qlen)
			return -1;
		off += (size_t)snprintf(q + off, qlen - off, "&changes=%s", esc);
		p += l + (p[l] == '\n');
	}
	return off < qlen ? 0 : -1;
}

int
image_build(struct engine *e, const struct config *cfg, int kind, char *err,
    size_t errlen)
{
	struct image_ctx c;
	char changes[2048], q[8192];
	const char *name = image_name(cfg, kind), *serr;
	long st, saved = e->timeout_ms;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	if ((c.names = calloc(IMAGE_MAX_ENTRIES, sizeof(char *))) == NULL ||
	    (c.fp = tmpfile()) == NULL) {
		snprintf(err, errlen, "cannot make a temporary file for the "
		    "image: %s (check $TMPDIR)", strerror(errno));
		goto out;
	}
	if ((kind == IMAGE_POSTGRES ? image_rootfs_postgres(&c, cfg, changes,
	    sizeof(changes)) : image_rootfs_influxdb(&c, changes,
	    sizeof(changes))) == -1) {
		snprintf(err, errlen, "image %s: %s", name, c.err[0] ? c.err :
		    strerror(errno));
		goto out;
	}
	if (engine_tar_end(c.fp) == -1 || fseeko(c.fp, 0, SEEK_SET) == -1) {
		snprintf(err, errlen, "image %s: writing the layer: %s (is "
		    "$TMPDIR full?)", name, strerror(errno));
		goto out;
	}
	if (image_query(name, changes, q, sizeof(q)) == -1) {
		snprintf(err, errlen, "image %s: name too long", name);
		goto out;
	}
	e->timeout_ms = 0;	/* a large layer on a slow disk takes a while */
	st = engine_upload(e, "POST", q, c.fp, "application/x-tar", NULL);
	e->timeout_ms = saved;
	if (st == -1) {
		snprintf(err, errlen, "%s", e->err);
		goto out;
	}
	if (st != 200 || (serr = engine_stream_error(e->buf, e->len)) != NULL) {
		snprintf(err, errlen, "importing image %s: HTTP %ld: %.200s",
		    name, st, st != 200 ? e->buf : serr);
		goto out;
	}
	rc = 0;
out:
	if (c.fp != NULL)
		fclose(c.fp);
	for (size_t i = 0; i < c.n; i++)
		free(c.names[i]);
	free(c.names);
	return rc;
}
