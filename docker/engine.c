/*
 * engine.c: the Docker Engine API client.  Only HTTP to the engine and the
 * tar format it takes; what to create is docker.c's and image.c's business.
 * Never shells out to the docker CLI: it may be missing, another version,
 * or pointed at another engine by the user's own config.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "engine.h"

#define ENGINE_BUF_MAX (64u << 20)	/* a response larger is an error */

static size_t
engine_sink(char *p, size_t size, size_t n, void *arg)
{
	struct engine *e = arg;
	size_t len = size * n;

	if (e->len + len + 1 > e->cap) {
		size_t cap = e->cap ? e->cap : 4096;
		char *nb;

		while (cap < e->len + len + 1)
			cap *= 2;
		if (cap > ENGINE_BUF_MAX)
			return 0;
		if ((nb = realloc(e->buf, cap)) == NULL)
			return 0;
		e->buf = nb;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, p, len);
	e->len += len;
	e->buf[e->len] = '\0';
	return len;
}

static size_t
engine_source(char *p, size_t size, size_t n, void *arg)
{
	FILE *fp = arg;
	size_t got = fread(p, 1, size * n, fp);

	if (got == 0 && ferror(fp))
		return CURL_READFUNC_ABORT;
	return got;
}

/* Why the transport failed, as something the user can act on. */
static void
engine_transport_err(struct engine *e, CURLcode rc)
{
	long oserr = 0;

	curl_easy_getinfo(e->curl, CURLINFO_OS_ERRNO, &oserr);
	if (e->sock[0] != '\0') {
		if (oserr == EACCES || oserr == EPERM) {
			snprintf(e->err, sizeof(e->err), "cannot reach Docker "
			    "at %s: Permission denied (add your user to the "
			    "docker group: sudo usermod -aG docker $USER, then "
			    "log in again)", e->sock);
			return;
		}
		if (rc == CURLE_COULDNT_CONNECT) {
			snprintf(e->err, sizeof(e->err), "no Docker engine "
			    "answers at %s: start dockerd (sudo systemctl "
			    "start docker, or scripts/dockerd-up.sh) or set "
			    "DOCKER_HOST", e->sock);
			return;
		}
	} else if (rc == CURLE_COULDNT_CONNECT ||
	    rc == CURLE_COULDNT_RESOLVE_HOST) {
		snprintf(e->err, sizeof(e->err), "no Docker engine answers at "
		    "%s: check DOCKER_HOST and that the engine listens there",
		    e->where);
		return;
	}
	if (rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE ||
	    rc == CURLE_PEER_FAILED_VERIFICATION) {
		snprintf(e->err, sizeof(e->err), "TLS to Docker at %s failed: "
		    "%s (check ca.pem, cert.pem, key.pem in %s)", e->where,
		    curl_easy_strerror(rc), e->cert_dir);
		return;
	}
	snprintf(e->err, sizeof(e->err), "Docker at %s: %s", e->where,
	    curl_easy_strerror(rc));
}

static long
engine_do(struct engine *e, const char *method, const char *path,
    const char *body, FILE *fp, const char *ctype, json_t **out)
{
	struct curl_slist *hdrs = NULL;
	char url[1024], ct[128];
	CURLcode rc;
	CURL *c = e->curl;

	if (out != NULL)
		*out = NULL;
	e->len = 0;
	e->status = 0;
	if (e->buf != NULL)
		e->buf[0] = '\0';
	if (e->api[0] != '\0')
		snprintf(url, sizeof(url), "%s/v%s%s", e->base, e->api, path);
	else
		snprintf(url, sizeof(url), "%s%s", e->base, path);

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, e->timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, engine_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, e);
	if (e->sock[0] != '\0')
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->sock);
	if (e->tls) {
		char f[300];

		snprintf(f, sizeof(f), "%s/ca.pem", e->cert_dir);
		curl_easy_setopt(c, CURLOPT_CAINFO, f);
		snprintf(f, sizeof(f), "%s/cert.pem", e->cert_dir);
		curl_easy_setopt(c, CURLOPT_SSLCERT, f);
		snprintf(f, sizeof(f), "%s/key.pem", e->cert_dir);
		curl_easy_setopt(c, CURLOPT_SSLKEY, f);
	}
	/* no "Expect: 100-continue" round trip on uploads */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (body != NULL) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body));
	} else if (fp != NULL) {
		struct stat st;

		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hdrs = curl_slist_append(hdrs, ct);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, engine_source);
		curl_easy_setopt(c, CURLOPT_READDATA, fp);
		if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode))
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
			    (curl_off_t)(st.st_size - ftello(fp)));
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	rc = curl_easy_perform(c);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		engine_transport_err(e, rc);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &e->status);
	if (out != NULL && e->len > 0)
		*out = json_loadb(e->buf, e->len, 0, NULL);
	return e->status;
}

long
engine_json(struct engine *e, const char *method, const char *path,
    json_t *body, json_t **out)
{
	char *s = NULL;
	long st;

	if (body != NULL && (s = json_dumps(body, JSON_COMPACT)) == NULL) {
		snprintf(e->err, sizeof(e->err), "out of memory");
		return -1;
	}
	st = engine_do(e, method, path, s, NULL, NULL, out);
	free(s);
	return st;
}

long
engine_upload(struct engine *e, const char *method, const char *path,
    FILE *fp, const char *ctype, json_t **out)
{
	return engine_do(e, method, path, NULL, fp, ctype, out);
}

int
engine_api_num(const char *v)
{
	char *end;
	long maj, min;

	/* strtol would take blanks and a sign: only "N.N" is a version */
	if (v == NULL || !isdigit((unsigned char)v[0]))
		return -1;
	maj = strtol(v, &end, 10);
	if (end == v || *end != '.' || maj < 1 || maj > 9)
		return -1;
	v = end + 1;
	if (!isdigit((unsigned char)v[0]))
		return -1;
	min = strtol(v, &end, 10);
	if (end == v || *end != '\0' || min < 0 || min > 99)
		return -1;
	return (int)(maj * 100 + min);
}

int
engine_api_pick(const json_t *version, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char *api = json_string_value(json_object_get(version,
	    "ApiVersion"));
	const char *minv = json_string_value(json_object_get(version,
	    "MinAPIVersion"));
	int have = engine_api_num(api);
	int lo = minv != NULL ? engine_api_num(minv) : have;

	if (have < 0) {
		snprintf(err, errlen, "the Docker engine sent no API version "
		    "in GET /version: is it a Docker engine?");
		return -1;
	}
	if (have < engine_api_num(ENGINE_API_MIN)) {
		snprintf(err, errlen, "the Docker engine speaks API %s; labsup "
		    "needs %s or later: upgrade Docker", api, ENGINE_API_MIN);
		return -1;
	}
	if (lo > engine_api_num(ENGINE_API_MAX)) {
		snprintf(err, errlen, "the Docker engine needs API %s or later; "
		    "labsup speaks up to %s: upgrade labsup", minv,
		    ENGINE_API_MAX);
		return -1;
	}
	/* written from the number, never copied: it goes into every path */
	if (have > engine_api_num(ENGINE_API_MAX))
		have = engine_api_num(ENGINE_API_MAX);
	snprintf(out, outlen, "%d.%d", have / 100, have % 100);
	return 0;
}

/* Where DOCKER_HOST (or cfg's host) points: unix socket or tcp. */
static int
engine_parse_host(struct engine *e, const char *host)
{
	const char *env;

	if ((host == NULL || host[0] == '\0') &&
	    (env = getenv("DOCKER_HOST")) != NULL && env[0] != '\0')
		host = env;
	if (host == NULL || host[0] == '\0')
		host = "unix:///var/run/docker.sock";
	snprintf(e->where, sizeof(e->where), "%s", host);
	if (strncmp(host, "unix://", 7) == 0) {
		snprintf(e->sock, sizeof(e->sock), "%s", host + 7);
		snprintf(e->where, sizeof(e->where), "%s", e->sock);
		/* the host part is ignored on a unix socket; any name does */
		snprintf(e->base, sizeof(e->base), "http://docker");
		return 0;
	}
	if (strncmp(host, "tcp://", 6) == 0) {
		const char *tv = getenv("DOCKER_TLS_VERIFY");
		const char *cp = getenv("DOCKER_CERT_PATH");
		const char *home = getenv("HOME");

		e->tls = tv != NULL && tv[0] != '\0' && strcmp(tv, "0") != 0;
		if (cp != NULL && cp[0] != '\0')
			snprintf(e->cert_dir, sizeof(e->cert_dir), "%s", cp);
		else
			snprintf(e->cert_dir, sizeof(e->cert_dir), "%s/.docker",
			    home != NULL ? home : "");
		snprintf(e->base, sizeof(e->base), "%s://%s",
		    e->tls ? "https" : "http", host + 6);
		/* "tcp://h:2376/" would double the slash in every URL */
		size_t n = strlen(e->base);
		if (n > 0 && e->base[n - 1] == '/')
			e->base[n - 1] = '\0';
		return 0;
	}
	snprintf(e->err, sizeof(e->err), "DOCKER_HOST \"%s\" is neither "
	    "unix://PATH nor tcp://HOST:PORT: fix DOCKER_HOST or [docker] host",
	    host);
	return -1;
}

int
engine_open(struct engine *e, const char *host)
{
	json_t *v = NULL;
	long st;
	static bool inited;

	memset(e, 0, sizeof(*e));
	e->timeout_ms = 30000;
	if (!inited) {
		/* once per process, before any handle; cheap when repeated */
		curl_global_init(CURL_GLOBAL_DEFAULT);
		inited = true;
	}
	if (engine_parse_host(e, host) == -1)
		return -1;
	if (e->sock[0] != '\0' && access(e->sock, F_OK) == -1) {
		snprintf(e->err, sizeof(e->err), "no Docker engine at %s (no "
		    "such socket): start dockerd (sudo systemctl start docker, "
		    "or scripts/dockerd-up.sh) or set DOCKER_HOST", e->sock);
		return -1;
	}
	if ((e->curl = curl_easy_init()) == NULL) {
		snprintf(e->err, sizeof(e->err), "cannot start libcurl");
		return -1;
	}
	/* unversioned: every engine answers /version */
	st = engine_json(e, "GET", "/version", NULL, &v);
	if (st == -1)
		goto fail;
	if (st != 200 || v == NULL) {
		snprintf(e->err, sizeof(e->err), "Docker at %s answered GET "
		    "/version with HTTP %ld: is it a Docker engine?", e->where,
		    st);
		goto fail;
	}
	if (engine_api_pick(v, e->api, sizeof(e->api), e->err,
	    sizeof(e->err)) == -1)
		goto fail;
	json_decref(v);
	return 0;
fail:
	json_decref(v);
	engine_close(e);
	return -1;
}

void
engine_close(struct engine *e)
{
	if (e->curl != NULL)
		curl_easy_cleanup(e->curl);
	e->curl = NULL;
	free(e->buf);
	e->buf = NULL;
	e->len = e->cap = 0;
}

int
engine_escape(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-_.~", ch) != NULL) {
			if (o + 1 >= len)
				return -1;
			buf[o++] = (char)ch;
		} else {
			if (o + 3 >= len)
				return -1;
			buf[o++] = '%';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		}
	}
	if (o >= len)
		return -1;
	buf[o] = '\0';
	return 0;
}

/* Pull "Bind for 127.0.0.1:5432 failed" style ports out of a message. */
static bool
engine_port_taken(const char *msg)
{
	return strstr(msg, "port is already allocated") != NULL ||
	    strstr(msg, "address already in use") != NULL;
}

void
engine_errmsg(struct engine *e, const json_t *resp, const char *what,
    char *buf, size_t len)
{
	const char *msg = json_string_value(json_object_get(resp, "message"));
	char one[200];

	if (e->status == -1 || (e->status == 0 && e->err[0] != '\0')) {
		snprintf(buf, len, "%s", e->err);
		return;
	}
	if (msg == NULL)
		msg = e->len > 0 ? e->buf : "no message";
	/* the engine's messages may carry newlines: keep one line */
	snprintf(one, sizeof(one), "%s", msg);
	for (char *p = one; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (engine_port_taken(msg)) {
		/* the address is deep in a long message: lead with it */
		const char *a = strstr(msg, "tcp4 ");
		char addr[64] = "a port it publishes";

		a = a != NULL ? a + 5 : strstr(msg, "Bind for ");
		if (a != NULL && strncmp(a, "Bind for ", 9) == 0)
			a += 9;
		if (a != NULL) {
			size_t n = strspn(a, "0123456789.:[]");

			while (n > 0 && a[n - 1] == ':')
				n--;
			snprintf(addr, sizeof(addr), "port %.*s", (int)n, a);
		}
		snprintf(buf, len, "%s is taken: free it or pick another port "
		    "in the config (%s)", addr, what);
		return;
	}
	if (e->status == 404 && strstr(one, "image") != NULL) {
		snprintf(buf, len, "%s: %s: run `labsup image build` (no "
		    "registry needed) or pull the image", what, one);
		return;
	}
	if (e->status == 409) {
		snprintf(buf, len, "%s: conflict: %s", what, one);
		return;
	}
	snprintf(buf, len, "%s: HTTP %ld: %s", what, e->status, one);
}

const char *
engine_stream_error(const char *buf, size_t len)
{
	static char msg[256];
	json_error_t jerr;
	size_t off = 0;

	while (off < len) {
		json_t *j;
		const char *m;

		while (off < len && strchr(" \t\r\n", buf[off]) != NULL)
			off++;
		if (off >= len)
			break;
		j = json_loadb(buf + off, len - off, JSON_DISABLE_EOF_CHECK,
		    &jerr);
		if (j == NULL)
			break;
		off += jerr.position;
		m = json_string_value(json_object_get(j, "error"));
		if (m == NULL)
			m = json_string_value(json_object_get(
			    json_object_get(j, "errorDetail"), "message"));
		if (m != NULL) {
			snprintf(msg, sizeof(msg), "%s", m);
			json_decref(j);
			for (char *p = msg; *p != '\0'; p++)
				if (*p == '\n')
					*p = ' ';
			return msg;
		}
		json_decref(j);
	}
	return NULL;
}

void
engine_split_image(const char *image, char *repo, size_t repolen, char *tag,
    size_t taglen)
{
	const char *slash = strrchr(image, '/');
	const char *colon = strrchr(image, ':');

	/* a colon before the last slash is a registry port, not a tag */
	if (colon != NULL && (slash == NULL || colon > slash)) {
		snprintf(repo, repolen, "%.*s", (int)(colon - image), image);
		snprintf(tag, taglen, "%s", colon + 1);
	} else {
		snprintf(repo, repolen, "%s", image);
		snprintf(tag, taglen, "latest");
	}
}

static int64_t
engine_int(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

int
engine_stats_parse(const json_t *j, struct engine_stats *s)
{
	const json_t *cpu = json_object_get(j, "cpu_stats");
	const json_t *mem = json_object_get(j, "memory_stats");
	const json_t *nets = json_object_get(j, "networks");
	const json_t *ms, *v;
	const char *k;
	int64_t cache;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(cpu))
		return -1;
	s->cpu_total = (uint64_t)engine_int(json_object_get(cpu, "cpu_usage"),
	    "total_usage");
	s->cpu_system = (uint64_t)engine_int(cpu, "system_cpu_usage");
	s->online_cpus = (int)engine_int(cpu, "online_cpus");
	if (s->online_cpus <= 0) {
		/* old engines: count the per-CPU array instead */
		v = json_object_get(json_object_get(cpu, "cpu_usage"),
		    "percpu_usage");
		s->online_cpus = json_is_array(v) ? (int)json_array_size(v) : 1;
		if (s->online_cpus <= 0)
			s->online_cpus = 1;
	}
	/*
	 * Like `docker stats`: page cache is reclaimable, so it is not the
	 * service's memory (cgroup v2 calls it inactive_file, v1 cache).
	 */
	s->mem_bytes = engine_int(mem, "usage");
	ms = json_object_get(mem, "stats");
	cache = engine_int(ms, "inactive_file");
	if (cache == 0)
		cache = engine_int(ms, "total_inactive_file");
	if (cache == 0)
		cache = engine_int(ms, "cache");
	if (cache > 0 && cache < s->mem_bytes)
		s->mem_bytes -= cache;
	json_object_foreach((json_t *)nets, k, v) {
		s->rx_bytes += engine_int(v, "rx_bytes");
		s->tx_bytes += engine_int(v, "tx_bytes");
	}
	return 0;
}

double
engine_cpu_pct(const struct engine_stats *prev, const struct engine_stats *cur)
{
	double dcpu, dsys;

	if (prev->cpu_system == 0 || cur->cpu_system <= prev->cpu_system ||
	    cur->cpu_total < prev->cpu_total)
		return 0.0;
	dcpu = (double)(cur->cpu_total - prev->cpu_total);
	dsys = (double)(cur->cpu_system - prev->cpu_system);
	return dcpu / dsys * cur->online_cpus * 100.0;
}

/*
 * Tar.  Docker's extractor (Go archive/tar) reads ustar and GNU long
 * names; writing only that keeps this small.
 */
struct tar_hdr {
	char name[100], mode[8], uid[8], gid[8], size[12], mtime[12];
	char chksum[8], type, linkname[100], magic[6], version[2];
	char uname[32], gname[32], devmajor[8], devminor[8], prefix[155];
	char pad[12];
};

/* Zero-padded octal filling len - 1 digits and a NUL, as ustar wants. */
static void
tar_octal(char *dst, size_t len, uint64_t v)
{
	dst[len - 1] = '\0';
	for (size_t i = len - 1; i > 0; i--) {
		dst[i - 1] = (char)('0' + (v & 7));
		v >>= 3;
	}
}

static int
tar_pad(FILE *fp, size_t len)
{
	static const char zero[512];
	size_t r = len % 512;

	if (r != 0 && fwrite(zero, 1, 512 - r, fp) != 512 - r)
		return -1;
	return 0;
}

static int
tar_header(FILE *fp, const char *name, char type, mode_t mode, uid_t uid,
    gid_t gid, uint64_t size, const char *link)
{
	struct tar_hdr h;
	unsigned sum = 0;
	size_t nlen = strlen(name);

	_Static_assert(sizeof(struct tar_hdr) == 512, "tar header is 512");
	if (nlen >= sizeof(h.name) ||
	    (link != NULL && strlen(link) >= sizeof(h.linkname))) {
		/* GNU long name / long link: an entry holding the name */
		const char *ln = nlen >= sizeof(h.name) ? name : NULL;

		if (ln != NULL) {
			if (tar_header(fp, "././@LongLink", 'L', 0644, 0, 0,
			    nlen + 1, NULL) == -1 ||
			    fwrite(ln, 1, nlen + 1, fp) != nlen + 1 ||
			    tar_pad(fp, nlen + 1) == -1)
				return -1;
		}
		if (link != NULL && strlen(link) >= sizeof(h.linkname)) {
			size_t ll = strlen(link);

			if (tar_header(fp, "././@LongLink", 'K', 0644, 0, 0,
			    ll + 1, NULL) == -1 ||
			    fwrite(link, 1, ll + 1, fp) != ll + 1 ||
			    tar_pad(fp, ll + 1) == -1)
				return -1;
		}
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.name, name, nlen < sizeof(h.name) ? nlen : sizeof(h.name) - 1);
	tar_octal(h.mode, sizeof(h.mode), mode & 07777);
	tar_octal(h.uid, sizeof(h.uid), uid);
	tar_octal(h.gid, sizeof(h.gid), gid);
	tar_octal(h.size, sizeof(h.size), size);
	/* a fixed time keeps generated layers reproducible */
	tar_octal(h.mtime, sizeof(h.mtime), 1700000000);
	h.type = type;
	if (link != NULL)
		memcpy(h.linkname, link, strlen(link) < sizeof(h.linkname) ?
		    strlen(link) : sizeof(h.linkname) - 1);
	memcpy(h.magic, "ustar", 6);
	memcpy(h.version, "00", 2);
	memset(h.chksum, ' ', sizeof(h.chksum));
	for (size_t i = 0; i < sizeof(h); i++)
		sum += ((unsigned char *)&h)[i];
	snprintf(h.chksum, sizeof(h.chksum), "%06o", sum);
	h.chksum[7] = ' ';
	if (fwrite(&h, 1, sizeof(h), fp) != sizeof(h))
		return -1;
	return 0;
}

int
engine_tar_add(FILE *fp, const char *name, char type, mode_t mode, uid_t uid,
    gid_t gid, const void *data, size_t len)
{
	if (type == '2')
		return tar_header(fp, name, type, mode, uid, gid, 0, data);
	if (type == '5')
		return tar_header(fp, name, type, mode, uid, gid, 0, NULL);
	if (tar_header(fp, name, type, mode, uid, gid, len, NULL) == -1)
		return -1;
	if (len > 0 && fwrite(data, 1, len, fp) != len)
		return -1;
	return tar_pad(fp, len);
}

int
engine_tar_add_path(FILE *fp, const char *name, const char *src, mode_t mode,
    uid_t uid, gid_t gid)
{
	char buf[65536];
	struct stat st;
	uint64_t left;
	int fd;

	if ((fd = open(src, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if (tar_header(fp, name, '0', mode, uid, gid, (uint64_t)st.st_size,
	    NULL) == -1)
		goto fail;
	for (left = (uint64_t)st.st_size; left > 0;) {
		ssize_t n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));

		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* shrank under us */
			goto fail;
		}
		if (fwrite(buf, 1, (size_t)n, fp) != (size_t)n)
			goto fail;
		left -= (uint64_t)n;
	}
	close(fd);
	return tar_pad(fp, (size_t)st.st_size);
fail:
	close(fd);
	return -1;
}

int
engine_tar_end(FILE *fp)
{
	static const char zero[1024];

	if (fwrite(zero, 1, sizeof(zero), fp) != sizeof(zero) ||
	    fflush(fp) != 0)
		return -1;
	return 0;
}
