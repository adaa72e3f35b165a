/*
 * dashcheck.c: checks grafana/ the way Grafana would use it.  Reads the
 * provisioning YAML (the subset Grafana's examples use; ${VAR} taken from
 * the environment, as Grafana does) and checks its documented shape, then
 * loads every dashboard the file provider points at, substitutes the
 * template variables and runs every panel and annotation query against the
 * InfluxDB the datasource names.  A query that errors or returns no series
 * fails the check: a panel that is empty on a running lab is a bug.
 *
 * usage: dashcheck [-v] [-n NODE] [-r RANGE] PROVISIONING_DIR
 * Exit 0 all good, 1 a check failed, 2 usage.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DASH_MAXLINES 1024

static int dash_failures;
static int dash_verbose;

static void
dash_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("FAIL ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	dash_failures++;
}

/* ---- a YAML subset: block mappings, block lists, plain scalars ------- */

struct dash_line {
	int indent;
	int lineno;
	char *text;
};

struct dash_yaml {
	const char *path;
	struct dash_line lines[DASH_MAXLINES];
	int n;
	char err[256];
};

/* Grafana expands $VAR and ${VAR} from its environment; so do we. */
static char *
dash_expand(const char *s, char *err, size_t errlen)
{
	size_t cap = strlen(s) + 1, len = 0;
	char *out = malloc(cap);

	if (out == NULL)
		return NULL;
	while (*s != '\0') {
		char name[128];
		size_t n = 0;
		const char *val;

		if (*s != '$' || !(s[1] == '{' || isalpha((unsigned char)s[1]) ||
		    s[1] == '_')) {
			out[len++] = *s++;
			continue;
		}
		bool brace = s[1] == '{';
		s += brace ? 2 : 1;
		while ((isalnum((unsigned char)*s) || *s == '_') &&
		    n < sizeof(name) - 1)
			name[n++] = *s++;
		name[n] = '\0';
		if (brace && *s++ != '}') {
			snprintf(err, errlen, "unterminated ${%s", name);
			free(out);
			return NULL;
		}
		if ((val = getenv(name)) == NULL) {
			snprintf(err, errlen, "$%s is not set (whoever starts "
			    "Grafana must set it)", name);
			free(out);
			return NULL;
		}
		cap += strlen(val);
		char *p = realloc(out, cap);
		if (p == NULL) {
			free(out);
			return NULL;
		}
		out = p;
		memcpy(out + len, val, strlen(val));
		len += strlen(val);
	}
	out[len] = '\0';
	return out;
}

/* Drops a comment: '#' at the start or after a blank, outside quotes. */
static void
dash_uncomment(char *s)
{
	char q = 0;

	for (char *p = s; *p != '\0'; p++) {
		if (q != 0) {
			if (*p == q)
				q = 0;
		} else if (*p == '\'' || *p == '"')
			q = *p;
		else if (*p == '#' && (p == s || p[-1] == ' ')) {
			*p = '\0';
			break;
		}
	}
	for (size_t n = strlen(s); n > 0 && isspace((unsigned char)s[n - 1]);
	    n--)
		s[n - 1] = '\0';
}

static int
dash_yaml_load(struct dash_yaml *y, const char *path)
{
	char buf[1024];
	int lineno = 0;
	FILE *fp;

	memset(y, 0, sizeof(*y));
	y->path = path;
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(y->err, sizeof(y->err), "cannot open: %s",
		    strerror(errno));
		return -1;
	}
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		char *t = buf;
		int indent = 0;

		lineno++;
		buf[strcspn(buf, "\n")] = '\0';
		while (*t == ' ') {
			t++;
			indent++;
		}
		if (*t == '\t') {
			snprintf(y->err, sizeof(y->err), "line %d: a tab in the "
			    "indentation (YAML allows spaces only)", lineno);
			fclose(fp);
			return -1;
		}
		dash_uncomment(t);
		if (*t == '\0')
			continue;
		if (y->n == DASH_MAXLINES) {
			snprintf(y->err, sizeof(y->err), "too many lines");
			fclose(fp);
			return -1;
		}
		y->lines[y->n].indent = indent;
		y->lines[y->n].lineno = lineno;
		y->lines[y->n].text = dash_expand(t, y->err, sizeof(y->err));
		if (y->lines[y->n].text == NULL) {
			char e[256];
			snprintf(e, sizeof(e), "line %d: %s", lineno, y->err);
			snprintf(y->err, sizeof(y->err), "%s", e);
			fclose(fp);
			return -1;
		}
		y->n++;
	}
	fclose(fp);
	return 0;
}

static void
dash_yaml_free(struct dash_yaml *y)
{
	for (int i = 0; i < y->n; i++)
		free(y->lines[i].text);
}

static json_t *
dash_scalar(const char *s)
{
	size_t n = strlen(s);
	char *end;
	long long v;

	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0])
		return json_stringn(s + 1, n - 2);
	if (!strcmp(s, "true"))
		return json_true();
	if (!strcmp(s, "false"))
		return json_false();
	errno = 0;
	v = strtoll(s, &end, 10);
	if (n > 0 && *end == '\0' && errno == 0)
		return json_integer(v);
	return json_string(s);
}

/* "key: value" or "key:" -> key and value (NULL for none); -1 if not so. */
static int
dash_split(char *t, char **key, char **val)
{
	char *c = strstr(t, ": ");

	if (c == NULL) {
		size_t n = strlen(t);
		if (n == 0 || t[n - 1] != ':')
			return -1;
		t[n - 1] = '\0';
		*key = t;
		*val = NULL;
		return 0;
	}
	*c = '\0';
	*key = t;
	*val = c + 2;
	while (**val == ' ')
		(*val)++;
	return strchr(t, ' ') == NULL && strchr(t, '"') == NULL ? 0 : -1;
}

static json_t *dash_block(struct dash_yaml *y, int *i, int indent);

static bool
dash_is_item(const char *t)
{
	return t[0] == '-' && (t[1] == ' ' || t[1] == '\0');
}

static json_t *
dash_mapping(struct dash_yaml *y, int *i, int indent)
{
	json_t *map = json_object();

	while (*i < y->n && y->lines[*i].indent == indent &&
	    !dash_is_item(y->lines[*i].text)) {
		struct dash_line *l = &y->lines[*i];
		char *key, *val;
		json_t *v;

		if (dash_split(l->text, &key, &val) == -1) {
			snprintf(y->err, sizeof(y->err), "line %d: expected "
			    "\"key: value\"", l->lineno);
			json_decref(map);
			return NULL;
		}
		(*i)++;
		if (val != NULL && *val != '\0')
			v = dash_scalar(val);
		else if (*i < y->n && (y->lines[*i].indent > indent ||
		    (y->lines[*i].indent == indent &&
		    dash_is_item(y->lines[*i].text))))
			v = dash_block(y, i, y->lines[*i].indent);
		else
			v = json_null();
		if (v == NULL) {
			json_decref(map);
			return NULL;
		}
		if (json_object_get(map, key) != NULL) {
			snprintf(y->err, sizeof(y->err), "line %d: \"%s\" "
			    "appears twice", l->lineno, key);
			json_decref(v);
			json_decref(map);
			return NULL;
		}
		json_object_set_new(map, key, v);
	}
	return map;
}

static json_t *
dash_list(struct dash_yaml *y, int *i, int indent)
{
	json_t *list = json_array();

	while (*i < y->n && y->lines[*i].indent == indent &&
	    dash_is_item(y->lines[*i].text)) {
		struct dash_line *l = &y->lines[*i];
		char *rest = l->text + 1;
		json_t *v;

		while (*rest == ' ')
			rest++;
		if (*rest == '\0') {
			(*i)++;
			v = *i < y->n && y->lines[*i].indent > indent ?
			    dash_block(y, i, y->lines[*i].indent) : json_null();
		} else if (strstr(rest, ": ") != NULL ||
		    rest[strlen(rest) - 1] == ':') {
			/* "- key: v" opens a mapping at the key's column */
			l->indent += (int)(rest - l->text);
			memmove(l->text, rest, strlen(rest) + 1);
			v = dash_mapping(y, i, l->indent);
		} else {
			v = dash_scalar(rest);
			(*i)++;
		}
		if (v == NULL) {
			json_decref(list);
			return NULL;
		}
		json_array_append_new(list, v);
	}
	return list;
}

static json_t *
dash_block(struct dash_yaml *y, int *i, int indent)
{
	return dash_is_item(y->lines[*i].text) ? dash_list(y, i, indent) :
	    dash_mapping(y, i, indent);
}

/* The whole file as JSON, or NULL with the reason in y->err. */
static json_t *
dash_yaml_parse(struct dash_yaml *y)
{
	int i = 0;
	json_t *doc;

	if (y->n == 0) {
		snprintf(y->err, sizeof(y->err), "empty file");
		return NULL;
	}
	if ((doc = dash_block(y, &i, y->lines[0].indent)) == NULL)
		return NULL;
	if (i < y->n) {
		snprintf(y->err, sizeof(y->err), "line %d: unexpected "
		    "indentation", y->lines[i].lineno);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* ---- provisioning shape (Grafana's "Provision Grafana" page) -------- */

static bool
dash_known(const char *key, const char *const *keys)
{
	for (int i = 0; keys[i] != NULL; i++)
		if (!strcmp(key, keys[i]))
			return true;
	return false;
}

/* Fails on a key Grafana does not document there: a typo is silent else. */
static void
dash_keys(const char *path, const char *where, json_t *obj,
    const char *const *keys)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v)
		if (!dash_known(k, keys))
			dash_fail("%s: %s: unknown key \"%s\"", path, where, k);
}

static const char *
dash_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL && *s != '\0' ? s : NULL;
}

static void
dash_api_version(const char *path, json_t *doc)
{
	json_t *v = json_object_get(doc, "apiVersion");

	if (!json_is_integer(v) || json_integer_value(v) != 1)
		dash_fail("%s: apiVersion must be 1", path);
}

struct dash_source {
	char uid[64];
	char url[256];
	char db[128];
};

/* Checks a datasources file; the InfluxQL sources it defines go in out. */
static void
dash_check_datasources(const char *path, json_t *doc,
    struct dash_source *out, int *nout, int max)
{
	static const char *const top[] = { "apiVersion", "datasources",
		"deleteDatasources", "prune", NULL };
	static const char *const ds[] = { "name", "type", "access", "orgId",
		"uid", "url", "user", "database", "basicAuth", "basicAuthUser",
		"withCredentials", "isDefault", "jsonData", "secureJsonData",
		"version", "editable", NULL };
	json_t *list = json_object_get(doc, "datasources"), *d;
	size_t i;
	int defaults = 0;

	dash_keys(path, "top level", doc, top);
	dash_api_version(path, doc);
	if (!json_is_array(list) || json_array_size(list) == 0) {
		dash_fail("%s: datasources[] is missing or empty", path);
		return;
	}
	json_array_foreach(list, i, d) {
		const char *name = dash_str(d, "name"), *type, *access, *url;
		json_t *jd = json_object_get(d, "jsonData");
		json_t *sj = json_object_get(d, "secureJsonData");
		char where[96];

		snprintf(where, sizeof(where), "datasources[%zu]", i);
		if (!json_is_object(d)) {
			dash_fail("%s: %s is not a mapping", path, where);
			continue;
		}
		dash_keys(path, where, d, ds);
		if (name == NULL)
			dash_fail("%s: %s has no name", path, where);
		if ((type = dash_str(d, "type")) == NULL)
			dash_fail("%s: %s has no type", path, where);
		access = dash_str(d, "access");
		if (access == NULL || (strcmp(access, "proxy") &&
		    strcmp(access, "direct")))
			dash_fail("%s: %s: access must be proxy or direct",
			    path, where);
		url = dash_str(d, "url");
		if (url == NULL || (strncmp(url, "http://", 7) &&
		    strncmp(url, "https://", 8)))
			dash_fail("%s: %s: url \"%s\" is not an http(s) URL",
			    path, where, url ? url : "");
		if (json_is_true(json_object_get(d, "isDefault")))
			defaults++;
		if (type == NULL || strcmp(type, "influxdb"))
			continue;
		const char *version = dash_str(jd, "version");
		if (version != NULL && !strcmp(version, "Flux")) {
			if (!dash_str(jd, "organization") ||
			    !dash_str(jd, "defaultBucket") ||
			    !dash_str(sj, "token"))
				dash_fail("%s: %s: a Flux source needs jsonData."
				    "organization, jsonData.defaultBucket and "
				    "secureJsonData.token", path, where);
			continue;
		}
		const char *db = dash_str(jd, "dbName");
		if (db == NULL)
			db = dash_str(d, "database");
		if (db == NULL) {
			dash_fail("%s: %s: an InfluxQL source needs database or "
			    "jsonData.dbName", path, where);
			continue;
		}
		if (*nout < max && url != NULL && dash_str(d, "uid") != NULL) {
			struct dash_source *s = &out[(*nout)++];
			snprintf(s->uid, sizeof(s->uid), "%s", dash_str(d, "uid"));
			snprintf(s->url, sizeof(s->url), "%s", url);
			snprintf(s->db, sizeof(s->db), "%s", db);
		}
	}
	if (defaults > 1)
		dash_fail("%s: %d datasources say isDefault", path, defaults);
}

/* Checks a dashboards provider file; returns the first file path, or NULL. */
static char *
dash_check_providers(const char *path, json_t *doc)
{
	static const char *const top[] = { "apiVersion", "providers", NULL };
	static const char *const pv[] = { "name", "orgId", "folder",
		"folderUid", "type", "disableDeletion", "updateIntervalSeconds",
		"allowUiUpdates", "options", NULL };
	static const char *const opt[] = { "path", "foldersFromFilesStructure",
		NULL };
	json_t *list = json_object_get(doc, "providers"), *p;
	char *found = NULL;
	size_t i;

	dash_keys(path, "top level", doc, top);
	dash_api_version(path, doc);
	if (!json_is_array(list) || json_array_size(list) == 0) {
		dash_fail("%s: providers[] is missing or empty", path);
		return NULL;
	}
	json_array_foreach(list, i, p) {
		json_t *o = json_object_get(p, "options");
		const char *type = dash_str(p, "type"), *dir;
		char where[64];

		snprintf(where, sizeof(where), "providers[%zu]", i);
		dash_keys(path, where, p, pv);
		if (dash_str(p, "name") == NULL)
			dash_fail("%s: %s has no name", path, where);
		if (type == NULL || strcmp(type, "file"))
			dash_fail("%s: %s: type must be file", path, where);
		if (!json_is_object(o)) {
			dash_fail("%s: %s has no options", path, where);
			continue;
		}
		dash_keys(path, where, o, opt);
		if ((dir = dash_str(o, "path")) == NULL)
			dash_fail("%s: %s has no options.path", path, where);
		else if (found == NULL)
			found = strdup(dir);
	}
	return found;
}

/* ---- queries --------------------------------------------------------- */

struct dash_buf {
	char *data;
	size_t len;
};

static size_t
dash_curl_write(char *p, size_t size, size_t n, void *arg)
{
	struct dash_buf *b = arg;
	char *d = realloc(b->data, b->len + size * n + 1);

	if (d == NULL)
		return 0;
	memcpy(d + b->len, p, size * n);
	b->data = d;
	b->len += size * n;
	b->data[b->len] = '\0';
	return size * n;
}

/* Runs q; returns the parsed answer or NULL with the reason in err. */
static json_t *
dash_query(CURL *c, const struct dash_source *src, const char *q, char *err,
    size_t errlen)
{
	struct dash_buf b = { NULL, 0 };
	char *eq = curl_easy_escape(c, q, 0), *edb = curl_easy_escape(c,
	    src->db, 0), *url;
	json_t *doc = NULL;
	json_error_t je;
	CURLcode rc;
	long code = 0;

	if (eq == NULL || edb == NULL ||
	    asprintf(&url, "%s/query?db=%s&epoch=ms&q=%s", src->url, edb,
	    eq) == -1) {
		snprintf(err, errlen, "out of memory");
		curl_free(eq);
		curl_free(edb);
		return NULL;
	}
	curl_free(eq);
	curl_free(edb);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, dash_curl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	rc = curl_easy_perform(c);
	free(url);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK)
		snprintf(err, errlen, "cannot reach InfluxDB at %s: %s "
		    "(is the lab running?)", src->url, curl_easy_strerror(rc));
	else if ((doc = json_loads(b.data ? b.data : "", 0, &je)) == NULL)
		snprintf(err, errlen, "HTTP %ld, not JSON: %.100s", code,
		    b.data ? b.data : "");
	free(b.data);
	return doc;
}

/*
 * Counts the series of a /query answer that hold at least one non-null
 * value; -1 with err set for an error answer.
 */
static int
dash_series(json_t *doc, char *err, size_t errlen)
{
	json_t *res = json_array_get(json_object_get(doc, "results"), 0);
	json_t *series, *s;
	const char *e;
	int n = 0;
	size_t i;

	if ((e = json_string_value(json_object_get(doc, "error"))) != NULL ||
	    (e = json_string_value(json_object_get(res, "error"))) != NULL) {
		snprintf(err, errlen, "InfluxDB: %s", e);
		return -1;
	}
	series = json_object_get(res, "series");
	json_array_foreach(series, i, s) {
		json_t *row, *v;
		size_t r, k;
		bool data = false;

		json_array_foreach(json_object_get(s, "values"), r, row)
			json_array_foreach(row, k, v)
				if (k > 0 && !json_is_null(v))
					data = true;
		n += data;
	}
	return n;
}

/* Every value of the node variable's query: the real nodes. */
static int
dash_nodes(CURL *c, const struct dash_source *src, const char *q, char *out,
    size_t outlen)
{
	char err[256];
	json_t *doc = dash_query(c, src, q, err, sizeof(err)), *s, *row;
	size_t i, j;
	int n = 0;

	out[0] = '\0';
	if (doc == NULL) {
		dash_fail("node variable: %s: %s", q, err);
		return 0;
	}
	json_array_foreach(json_object_get(json_array_get(json_object_get(doc,
	    "results"), 0), "series"), i, s)
		json_array_foreach(json_object_get(s, "values"), j, row) {
			const char *v = json_string_value(json_array_get(row, 1));
			if (v == NULL)
				continue;
			/* Grafana's "All" for a regex: (a|b|c) */
			snprintf(out + strlen(out), outlen - strlen(out), "%s%s",
			    n == 0 ? "(" : "|", v);
			n++;
		}
	if (n > 0)
		snprintf(out + strlen(out), outlen - strlen(out), ")");
	json_decref(doc);
	return n;
}

struct dash_vars {
	const char *names[16];
	char values[16][512];
	int n;
};

static void
dash_var_set(struct dash_vars *v, const char *name, const char *value)
{
	for (int i = 0; i < v->n; i++)
		if (!strcmp(v->names[i], name)) {
			snprintf(v->values[i], sizeof(v->values[i]), "%s", value);
			return;
		}
	if (v->n == 16)
		return;
	v->names[v->n] = name;
	snprintf(v->values[v->n], sizeof(v->values[0]), "%s", value);
	v->n++;
}

/*
 * $name, ${name} and [[name]] as Grafana writes them; the longest name
 * wins so $__interval_ms is not read as $__interval followed by "_ms".
 * Returns NULL (err set) when a variable is left that nothing defines.
 */
static char *
dash_subst(const char *q, const struct dash_vars *v, char *err, size_t errlen)
{
	size_t cap = strlen(q) * 4 + 4096, len = 0;
	char *out = malloc(cap);

	if (out == NULL)
		return NULL;
	while (*q != '\0') {
		int best = -1;
		size_t blen = 0, skip = 0;

		if (*q == '$' || (q[0] == '[' && q[1] == '[')) {
			for (int i = 0; i < v->n; i++) {
				size_t n = strlen(v->names[i]);
				size_t s = 0;
				if (q[0] == '$' && q[1] == '{' &&
				    !strncmp(q + 2, v->names[i], n) && q[2 + n] == '}')
					s = n + 3;
				else if (q[0] == '[' &&
				    !strncmp(q + 2, v->names[i], n) &&
				    !strncmp(q + 2 + n, "]]", 2))
					s = n + 4;
				else if (q[0] == '$' &&
				    !strncmp(q + 1, v->names[i], n) &&
				    !isalnum((unsigned char)q[1 + n]) &&
				    q[1 + n] != '_')
					s = n + 1;
				if (s > 0 && n > blen) {
					best = i;
					blen = n;
					skip = s;
				}
			}
		}
		if (best >= 0) {
			size_t n = strlen(v->values[best]);
			if (len + n + 1 >= cap)
				break;
			memcpy(out + len, v->values[best], n);
			len += n;
			q += skip;
			continue;
		}
		if (q[0] == '$' && (isalpha((unsigned char)q[1]) || q[1] == '_' ||
		    q[1] == '{')) {
			snprintf(err, errlen, "unknown variable at \"%.20s\"", q);
			free(out);
			return NULL;
		}
		if (len + 2 >= cap)
			break;
		out[len++] = *q++;
	}
	out[len] = '\0';
	return out;
}

struct dash_ctx {
	CURL *curl;
	const struct dash_source *src;
	const char *range;
	const char *node;	/* NULL: all of the variable's values */
	int queries;
};

static void
dash_run(struct dash_ctx *c, const char *file, const char *what,
    const char *query, const struct dash_vars *vars)
{
	char err[512];
	char *q = dash_subst(query, vars, err, sizeof(err));
	json_t *doc;
	int n;

	c->queries++;
	if (q == NULL) {
		dash_fail("%s: %s: %s", file, what, err);
		return;
	}
	if ((doc = dash_query(c->curl, c->src, q, err, sizeof(err))) == NULL)
		dash_fail("%s: %s: %s", file, what, err);
	else if ((n = dash_series(doc, err, sizeof(err))) < 0)
		dash_fail("%s: %s: %s\n     query: %s", file, what, err, q);
	else if (n == 0)
		dash_fail("%s: %s: no series (no data in the last %s)\n     "
		    "query: %s", file, what, c->range, q);
	else if (dash_verbose)
		printf("ok   %s: %s: %d series\n", file, what, n);
	json_decref(doc);
	free(q);
}

static void
dash_check_dashboard(struct dash_ctx *c, const char *path, const char *file)
{
	struct dash_vars vars = { .n = 0 };
	json_error_t je;
	json_t *d = json_load_file(path, 0, &je), *v, *p, *t, *a;
	size_t i, j;
	bool have_node = false, have_events = false;
	char filter[128], what[256];

	if (d == NULL) {
		dash_fail("%s: line %d: %s", file, je.line, je.text);
		return;
	}
	if (dash_str(d, "uid") == NULL || dash_str(d, "title") == NULL)
		dash_fail("%s: a dashboard needs a uid and a title", file);
	snprintf(filter, sizeof(filter), "time > now() - %s", c->range);
	dash_var_set(&vars, "timeFilter", filter);
	dash_var_set(&vars, "__interval", "1s");
	dash_var_set(&vars, "__interval_ms", "1000");
	json_array_foreach(json_object_get(json_object_get(d, "templating"),
	    "list"), i, v) {
		const char *name = dash_str(v, "name");
		const char *type = dash_str(v, "type");
		if (name == NULL || type == NULL) {
			dash_fail("%s: templating.list[%zu] needs a name and a "
			    "type", file, i);
			continue;
		}
		if (!strcmp(name, "node")) {
			char all[512];
			const char *q = dash_str(v, "query");
			have_node = true;
			if (q == NULL || strcmp(type, "query")) {
				dash_fail("%s: the node variable must be a query",
				    file);
				continue;
			}
			if (dash_nodes(c->curl, c->src, q, all, sizeof(all)) == 0)
				dash_fail("%s: the node variable's query (%s) "
				    "finds no node", file, q);
			dash_var_set(&vars, "node", c->node ? c->node : all);
		} else {
			/* other variables: what the dashboard selects */
			json_t *cur = json_object_get(json_object_get(v,
			    "current"), "value");
			if (!json_is_string(cur)) {
				dash_fail("%s: variable %s has no current value",
				    file, name);
				continue;
			}
			dash_var_set(&vars, name, json_string_value(cur));
		}
	}
	if (!have_node)
		dash_fail("%s: no node variable", file);
	json_array_foreach(json_object_get(json_object_get(d, "annotations"),
	    "list"), i, a) {
		const char *q = dash_str(a, "query");
		if (q == NULL)
			continue;	/* Grafana's built-in annotations */
		if (strstr(q, "\"events\"") != NULL)
			have_events = true;
		snprintf(what, sizeof(what), "annotation \"%s\"",
		    dash_str(a, "name") ? dash_str(a, "name") : "?");
		dash_run(c, file, what, q, &vars);
	}
	if (!have_events)
		dash_fail("%s: no annotation shows the events measurement", file);
	if (json_array_size(json_object_get(d, "panels")) == 0)
		dash_fail("%s: no panels", file);
	json_array_foreach(json_object_get(d, "panels"), i, p) {
		const char *title = dash_str(p, "title");
		if (json_array_size(json_object_get(p, "targets")) == 0)
			dash_fail("%s: panel \"%s\" has no query", file,
			    title ? title : "?");
		json_array_foreach(json_object_get(p, "targets"), j, t) {
			const char *q = dash_str(t, "query");
			const char *uid = dash_str(json_object_get(t,
			    "datasource"), "uid");
			snprintf(what, sizeof(what), "panel \"%s\" %s",
			    title ? title : "?", dash_str(t, "refId") ?
			    dash_str(t, "refId") : "");
			if (q == NULL || !json_is_true(json_object_get(t,
			    "rawQuery"))) {
				dash_fail("%s: %s: not a raw InfluxQL query",
				    file, what);
				continue;
			}
			if (uid == NULL || strcmp(uid, c->src->uid))
				dash_fail("%s: %s: datasource uid \"%s\" is not "
				    "the provisioned \"%s\"", file, what,
				    uid ? uid : "", c->src->uid);
			dash_run(c, file, what, q, &vars);
		}
	}
	json_decref(d);
}

/* ---- driver ---------------------------------------------------------- */

static int
dash_names(const char *dir, const char *suffix, char names[][256], int max)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && n < max) {
		size_t l = strlen(e->d_name), s = strlen(suffix);
		if (e->d_name[0] != '.' && l > s &&
		    !strcmp(e->d_name + l - s, suffix))
			snprintf(names[n++], 256, "%s", e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, 256, (int (*)(const void *, const void *))strcmp);
	return n;
}

/* Loads and parses one YAML file; NULL (failure counted) if it cannot. */
static json_t *
dash_yaml_file(const char *path)
{
	struct dash_yaml *y = malloc(sizeof(*y));
	json_t *doc = NULL;

	if (y == NULL)
		return NULL;
	if (dash_yaml_load(y, path) == 0)
		doc = dash_yaml_parse(y);
	if (doc == NULL)
		dash_fail("%s: %s", path, y->err);
	else if (!json_is_object(doc)) {
		dash_fail("%s: the top level must be a mapping", path);
		json_decref(doc);
		doc = NULL;
	}
	dash_yaml_free(y);
	free(y);
	return doc;
}

/*
 * Checks every file PROV/SUB/NAME.SUFFIX: datasources files (their InfluxQL sources
 * go in src when it is not NULL) or dashboard providers (the first path in
 * *dashdir).  Returns how many files there were.
 */
static int
dash_provision(const char *prov, const char *sub, const char *suffix,
    struct dash_source *src, int *nsrc, char **dashdir)
{
	static char names[64][256];
	struct dash_source unused[8];
	char path[1024];
	int n, nu = 0;

	snprintf(path, sizeof(path), "%s/%s", prov, sub);
	if ((n = dash_names(path, suffix, names, 64)) <= 0) {
		if (strcmp(suffix, ".yaml") == 0)
			fprintf(stderr, "dashcheck: no %s/*%s under %s\n", sub,
			    suffix, prov);
		return n;
	}
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", prov, sub, names[i]);
		json_t *doc = dash_yaml_file(path);
		if (doc == NULL)
			continue;
		if (strcmp(sub, "datasources") == 0)
			dash_check_datasources(path, doc, src ? src : unused,
			    src ? nsrc : &nu, 8);
		else if (*dashdir == NULL)
			*dashdir = dash_check_providers(path, doc);
		json_decref(doc);
	}
	return n;
}

static void
dash_usage(void)
{
	fprintf(stderr, "usage: dashcheck [-v] [-n NODE] [-r RANGE] "
	    "PROVISIONING_DIR\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static char names[64][256];
	struct dash_source src[8];
	struct dash_ctx c = { .range = "10m" };
	char path[1024], *dashdir = NULL;
	int nsrc = 0, n, ch;

	while ((ch = getopt(argc, argv, "vn:r:")) != -1) {
		switch (ch) {
		case 'v': dash_verbose = 1; break;
		case 'n': c.node = optarg; break;
		case 'r': c.range = optarg; break;
		default: dash_usage();
		}
	}
	if (optind + 1 != argc)
		dash_usage();
	const char *prov = argv[optind];

	/* every datasource file, the inert 2.x variant included */
	if (dash_provision(prov, "datasources", ".yaml", src, &nsrc, NULL) <= 0 ||
	    dash_provision(prov, "dashboards", ".yaml", NULL, NULL,
	    &dashdir) <= 0)
		return 1;
	dash_provision(prov, "datasources", ".yaml.disabled", NULL, NULL, NULL);
	if (nsrc == 0 || dashdir == NULL) {
		printf("dashcheck: %d failure(s); no InfluxQL datasource or no "
		    "dashboard path to go on\n", dash_failures);
		return 1;
	}
	if ((n = dash_names(dashdir, ".json", names, 64)) <= 0) {
		dash_fail("the provider's path %s holds no *.json dashboard",
		    dashdir);
		free(dashdir);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c.curl = curl_easy_init();
	c.src = &src[0];
	printf("dashcheck: %d dashboards in %s against %s (database %s), "
	    "last %s\n", n, dashdir, c.src->url, c.src->db, c.range);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dashdir, names[i]);
		dash_check_dashboard(&c, path, names[i]);
	}
	curl_easy_cleanup(c.curl);
	curl_global_cleanup();
	free(dashdir);
	printf("dashcheck: %d queries, %d failure(s)\n", c.queries,
	    dash_failures);
	return dash_failures ? 1 : 0;
}
