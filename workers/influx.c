/*
 * influx.c: HTTP to InfluxDB for the writer (see influx.h).  One easy
 * handle for the process's life, so the TCP connection is kept alive
 * between batches; bodies are gzip'd with one reused deflate stream.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include "influx.h"
#include "lineproto.h"

/* Read a one-line secret; trailing newline and spaces are not part of it. */
static int
influx_read_secret(const char *path, char *buf, size_t len, char *err,
    size_t errlen)
{
	FILE *fp = fopen(path, "r");
	struct stat st;
	size_t n;

	if (fp == NULL) {
		snprintf(err, errlen, "cannot read InfluxDB secret %s: %s "
		    "(create it, mode 0600, or fix the path in [influxdb])",
		    path, strerror(errno));
		return -1;
	}
	/* like ssh with a private key: a secret others can read is refused */
	if (fstat(fileno(fp), &st) == 0 && (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "InfluxDB secret %s can be read by others "
		    "(mode %03o): chmod 0600 %s", path,
		    (unsigned)(st.st_mode & 0777), path);
		fclose(fp);
		return -1;
	}
	n = fread(buf, 1, len - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	if (n == 0) {
		snprintf(err, errlen, "InfluxDB secret file %s is empty", path);
		return -1;
	}
	return 0;
}

static size_t
influx_on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct influx *ix = arg;
	size_t n = size * nmemb, room = sizeof(ix->body) - 1 - ix->body_len;

	memcpy(ix->body + ix->body_len, p, n < room ? n : room);
	ix->body_len += n < room ? n : room;
	ix->body[ix->body_len] = '\0';
	return n;
}

bool
influx_header_value(const char *p, size_t n, const char *name, char *buf,
    size_t len)
{
	size_t k = strlen(name);

	if (n <= k || p[k] != ':' || strncasecmp(p, name, k) != 0)
		return false;
	p += k + 1;
	n -= k + 1;
	while (n > 0 && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' ||
	    p[n - 1] == ' '))
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

static size_t
influx_on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct influx *ix = arg;
	size_t n = size * nmemb;
	char tmp[32];

	if (influx_header_value(p, n, "retry-after", tmp, sizeof(tmp))) {
		/* seconds only: InfluxDB never sends an HTTP date here */
		ix->retry_after_s = atoi(tmp);
		if (ix->retry_after_s < 0)
			ix->retry_after_s = -1;
	}
	return n;
}

static long long
influx_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* libcurl's progress hook: non-zero abandons the request. */
static int
influx_on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct influx *ix = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	if (ix->cancel == NULL || *ix->cancel == 0)
		return 0;
	if (ix->cancel_seen_ns == 0)
		ix->cancel_seen_ns = influx_mono_ns();
	return influx_mono_ns() - ix->cancel_seen_ns > 1000000000LL;
}

static int
influx_url(struct influx *ix, CURL *c, const struct config *cfg, char *err,
    size_t errlen)
{
	char *a, *b;

	if (cfg->influx.version == 2) {
		a = curl_easy_escape(c, cfg->influx.org, 0);
		b = curl_easy_escape(c, cfg->influx.bucket, 0);
		snprintf(ix->write_url, sizeof(ix->write_url),
		    "%s/api/v2/write?org=%s&bucket=%s&precision=ns",
		    cfg->influx.url, a ? a : "", b ? b : "");
	} else {
		a = curl_easy_escape(c, cfg->influx.database, 0);
		b = curl_easy_escape(c, cfg->influx.retention_policy, 0);
		snprintf(ix->write_url, sizeof(ix->write_url),
		    "%s/write?db=%s%s%s&precision=ns", cfg->influx.url,
		    a ? a : "", b && b[0] ? "&rp=" : "", b ? b : "");
	}
	curl_free(a);
	curl_free(b);
	snprintf(ix->query_url, sizeof(ix->query_url), "%s/query",
	    cfg->influx.url);
	if (a == NULL || b == NULL) {
		snprintf(err, errlen, "cannot build the InfluxDB URL: out of "
		    "memory");
		return -1;
	}
	return 0;
}

static int
influx_secrets(struct influx *ix, const struct config *cfg, char *err,
    size_t errlen)
{
	const char *env;

	if (cfg->influx.version == 1) {
		snprintf(ix->user, sizeof(ix->user), "%s", cfg->influx.user);
		if (cfg->influx.password_file[0] != '\0')
			return influx_read_secret(cfg->influx.password_file,
			    ix->password, sizeof(ix->password), err, errlen);
		return 0;
	}
	if (cfg->influx.token_file[0] != '\0')
		return influx_read_secret(cfg->influx.token_file, ix->token,
		    sizeof(ix->token), err, errlen);
	env = cfg->influx.token_env[0] ? getenv(cfg->influx.token_env) : NULL;
	if (env == NULL || env[0] == '\0') {
		snprintf(err, errlen, "InfluxDB 2.x needs a token: set "
		    "token_file in [influxdb] or export %s",
		    cfg->influx.token_env[0] ? cfg->influx.token_env :
		    "the variable named by token_env");
		return -1;
	}
	snprintf(ix->token, sizeof(ix->token), "%s", env);
	return 0;
}

int
influx_init(struct influx *ix, const struct config *cfg, char *err,
    size_t errlen)
{
	struct curl_slist *h = NULL;
	char auth[600];
	CURL *c;

	memset(ix, 0, sizeof(*ix));
	ix->version = cfg->influx.version;
	ix->timeout_ms = cfg->writer.timeout_ms;
	snprintf(ix->database, sizeof(ix->database), "%s",
	    cfg->influx.database);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "cannot start libcurl");
		return -1;
	}
	ix->curl = c;
	if (influx_url(ix, c, cfg, err, errlen) == -1 ||
	    influx_secrets(ix, cfg, err, errlen) == -1) {
		influx_free(ix);
		return -1;
	}
	h = curl_slist_append(h, "Content-Type: text/plain; charset=utf-8");
	/* no "Expect: 100-continue" round trip before every big body */
	h = curl_slist_append(h, "Expect:");
	if (ix->version == 2) {
		snprintf(auth, sizeof(auth), "Authorization: Token %s",
		    ix->token);
		h = curl_slist_append(h, auth);
		explicit_bzero(auth, sizeof(auth));
	}
	ix->headers = h;
	if (h == NULL) {
		snprintf(err, errlen, "cannot build HTTP headers: out of "
		    "memory");
		influx_free(ix);
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, influx_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, ix);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, influx_on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, ix);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, influx_on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, ix);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (ix->user[0] != '\0') {
		curl_easy_setopt(c, CURLOPT_USERNAME, ix->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, ix->password);
	}
	return 0;
}

void
influx_free(struct influx *ix)
{
	if (ix->curl != NULL)
		curl_easy_cleanup(ix->curl);
	if (ix->headers != NULL)
		curl_slist_free_all(ix->headers);
	if (ix->zs != NULL) {
		deflateEnd(ix->zs);
		free(ix->zs);
	}
	free(ix->gz);
	explicit_bzero(ix->password, sizeof(ix->password));
	explicit_bzero(ix->token, sizeof(ix->token));
	memset(ix, 0, sizeof(*ix));
}

size_t
influx_gzip(struct influx *ix, const void *data, size_t len,
    const void **out)
{
	z_stream *zs = ix->zs;
	size_t bound;

	if (zs == NULL) {
		if ((zs = calloc(1, sizeof(*zs))) == NULL)
			return 0;
		/* level 1: most of the size win for a fraction of the CPU */
		if (deflateInit2(zs, 1, Z_DEFLATED, 15 + 16, 8,
		    Z_DEFAULT_STRATEGY) != Z_OK) {
			free(zs);
			return 0;
		}
		ix->zs = zs;
	} else if (deflateReset(zs) != Z_OK)
		return 0;
	bound = deflateBound(zs, (uLong)len) + 64;
	if (bound > ix->gz_cap) {
		unsigned char *p = realloc(ix->gz, bound);
		if (p == NULL)
			return 0;
		ix->gz = p;
		ix->gz_cap = bound;
	}
	zs->next_in = (Bytef *)(uintptr_t)data;
	zs->avail_in = (uInt)len;
	zs->next_out = ix->gz;
	zs->avail_out = (uInt)ix->gz_cap;
	if (deflate(zs, Z_FINISH) != Z_STREAM_END)
		return 0;
	*out = ix->gz;
	return zs->total_out;
}

/* Pull InfluxDB's own words out of {"error":"..."} or {"message":"..."}. */
static void
influx_message(struct influx *ix)
{
	static const char *const keys[] = { "\"error\":\"", "\"message\":\"" };
	const char *p = NULL;
	size_t n = 0;

	for (size_t i = 0; i < 2 && p == NULL; i++)
		if ((p = strstr(ix->body, keys[i])) != NULL)
			p += strlen(keys[i]);
	if (p == NULL)
		p = ix->body;
	while (p[n] != '\0' && n + 1 < sizeof(ix->message)) {
		if (p[n] == '"' && (n == 0 || p[n - 1] != '\\'))
			break;
		n++;
	}
	memcpy(ix->message, p, n);
	ix->message[n] = '\0';
	for (char *q = ix->message; *q; q++)
		if (*q == '\n' || *q == '\r')
			*q = ' ';
}

static int
influx_post(struct influx *ix, const char *url, const void *data,
    size_t len, bool gzip, long timeout_ms)
{
	static char gzhdr[] = "Content-Encoding: gzip";
	struct curl_slist gz = { gzhdr, ix->headers };
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *c = ix->curl;
	CURLcode rc;

	ix->status = 0;
	ix->retry_after_s = -1;
	ix->message[0] = '\0';
	ix->body[0] = '\0';
	ix->body_len = 0;
	if (timeout_ms <= 0)
		timeout_ms = ix->timeout_ms;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER,
	    gzip ? &gz : (struct curl_slist *)ix->headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    timeout_ms < 2000 ? timeout_ms : 2000L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	if (rc != CURLE_OK) {
		snprintf(ix->message, sizeof(ix->message), "%s",
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return INFLUX_RETRY;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ix->status);
	if (ix->status >= 200 && ix->status < 300)
		return INFLUX_OK;
	influx_message(ix);
	if (ix->status == 429 || ix->status >= 500 || ix->status < 200)
		return INFLUX_RETRY;
	if (ix->status == 404 && ix->version == 1 &&
	    strstr(ix->message, "database not found") != NULL)
		return INFLUX_NODB;
	if (ix->status >= 400)
		return INFLUX_REJECT;
	return INFLUX_RETRY;	/* 1xx/3xx: not an answer we can use */
}

int
influx_write(struct influx *ix, const void *data, size_t len, bool gzip,
    long timeout_ms)
{
	return influx_post(ix, ix->write_url, data, len, gzip, timeout_ms);
}

int
influx_create_db(struct influx *ix)
{
	char q[256], url[1024], *e;
	int rc;

	snprintf(q, sizeof(q), "CREATE DATABASE \"%s\"", ix->database);
	if ((e = curl_easy_escape(ix->curl, q, 0)) == NULL)
		return -1;
	/* in the URL: our body headers say text/plain, not a form */
	snprintf(url, sizeof(url), "%s?q=%s", ix->query_url, e);
	curl_free(e);
	rc = influx_post(ix, url, "", 0, false, 0);
	return rc == INFLUX_OK && strstr(ix->body, "\"error\"") == NULL ? 0 :
	    -1;
}

/* influx_select: the whole answer, in a buffer grown as it comes. */
static size_t
influx_on_answer(char *p, size_t size, size_t nmemb, void *arg)
{
	struct lp_buf *a = arg;
	size_t n = size * nmemb;

	if (lp_reserve(a, n + 1) == -1)
		return 0;
	memcpy(a->data + a->len, p, n);
	a->len += n;
	a->data[a->len] = '\0';
	return n;
}

char *
influx_select(struct influx *ix, const struct config *cfg, const char *q)
{
	struct lp_buf a = { NULL, 0, 0 };
	char url[4096], *eq, *edb;
	CURL *c = ix->curl;
	int rc;

	eq = curl_easy_escape(c, q, 0);
	edb = curl_easy_escape(c, cfg->influx.version == 2 ?
	    cfg->influx.bucket : cfg->influx.database, 0);
	if (eq == NULL || edb == NULL) {
		curl_free(eq);
		curl_free(edb);
		snprintf(ix->message, sizeof(ix->message), "out of memory");
		return NULL;
	}
	/* 2.x answers InfluxQL on /query for a bucket mapped to a db */
	snprintf(url, sizeof(url), "%s?db=%s&epoch=ms&q=%s", ix->query_url,
	    edb, eq);
	curl_free(eq);
	curl_free(edb);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, influx_on_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	rc = influx_post(ix, url, "", 0, false, 0);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, influx_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, ix);
	if (rc != INFLUX_OK) {
		if (ix->message[0] == '\0' && a.data != NULL) {
			snprintf(ix->body, sizeof(ix->body), "%s", a.data);
			influx_message(ix);
		}
		if (ix->message[0] == '\0')
			snprintf(ix->message, sizeof(ix->message), "HTTP %ld",
			    ix->status);
		free(a.data);
		return NULL;
	}
	if (a.data == NULL)
		a.data = strdup("{}");
	return a.data;
}
