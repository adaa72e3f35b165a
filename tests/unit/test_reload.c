/*
 * test_reload.c: which workers a reload restarts.  A worker's part of the
 * config is compared key by key from the key table (worker_config_hash), so
 * comments, blank lines, line numbers and the order of sections never count;
 * one node's port changes only the workers that read that node.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../supervisor/supervisor.h"

static const char base[] =
    "[lab]\nname = rl\nstate_dir = /tmp/rl\n\n"
    "[node pub]\nrole = publisher\nport = 25432\n\n"
    "[node sub1]\nrole = subscriber\nport = 25433\n\n"
    "[node sub2]\nrole = subscriber\nport = 25434\n"
    "row_filter = accounts: aid % 2 = 0\n\n"
    "[hum]\nclients = 2\nrate = 50\n\n"
    "[sampler]\ninterval_ms = 20\nlocks_interval_ms = 40\n\n"
    "[writer]\nflush_ms = 100\n";

/* The same settings: one comment line first, sections in another order. */
static const char shifted[] =
    "; one comment line moves every line below it\n"
    "[writer]\nflush_ms = 100\n\n"
    "[node sub2]\nrow_filter = accounts: aid % 2 = 0\nport = 25434\n"
    "role = subscriber\n\n"
    "[sampler]\nlocks_interval_ms = 40\ninterval_ms = 20\n\n"
    "[node pub]\nrole = publisher\nport = 25432\n\n"
    "[hum]\nrate = 50\nclients = 2\n\n"
    "[node sub1]\n\n; and a blank line or two\n\nrole = subscriber\n"
    "port = 25433\n\n"
    "[lab]\nstate_dir = /tmp/rl\nname = rl\n";

static struct want wa[SUP_MAX_SLOTS], wb[SUP_MAX_SLOTS];
static struct config ca, cb;

static void
load(struct config *c, const char *text)
{
	char path[64], err[600];
	FILE *fp;

	snprintf(path, sizeof(path), "/tmp/labsup-reload.%d.conf",
	    (int)getpid());
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
	cr_assert_eq(config_load(c, path, err, sizeof(err)), 0, "%s", err);
	unlink(path);
}

static const struct want *
find(const struct want *w, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(w[i].name, name))
			return &w[i];
	return NULL;
}

/* The names of the workers whose slice differs, space-separated. */
static void
changed(const char *a, const char *b, char *out, size_t len)
{
	load(&ca, a);
	load(&cb, b);
	int na = sup_wanted(&ca, wa, SUP_MAX_SLOTS);
	int nb = sup_wanted(&cb, wb, SUP_MAX_SLOTS);

	cr_assert_eq(na, nb, "the worker set changed: %d vs %d", na, nb);
	out[0] = '\0';
	for (int i = 0; i < na; i++) {
		const struct want *o = find(wb, nb, wa[i].name);
		cr_assert_not_null(o, "%s is gone", wa[i].name);
		if (o->slice != wa[i].slice) {
			size_t l = strlen(out);
			snprintf(out + l, len - l, "%s%s", l ? "," : "",
			    wa[i].name);
		}
	}
}

Test(reload, same_file_shifted_and_reordered_changes_nothing)
{
	char out[512];

	changed(base, shifted, out, sizeof(out));
	cr_assert_str_eq(out, "", "restarted by a comment and a new order: %s",
	    out);
	/* the line numbers did move: the test is not vacuous */
	cr_assert_neq(ca.nodes[0].line, config_node(&cb, "pub")->line);
}

/* The workers a reload restarts when base has `from` replaced by `to`. */
static const char *
after_edit(const char *from, const char *to)
{
	static char text[sizeof(base) + 64], out[512];
	const char *p = strstr(base, from);

	cr_assert_not_null(p, "%s is not in the base config", from);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(p - base), base, to,
	    p + strlen(from));
	changed(base, text, out, sizeof(out));
	return out;
}

Test(reload, one_port_changes_only_that_nodes_workers)
{
	/* sub1's sampler, and the workers that read every node */
	cr_assert_str_eq(after_edit("25433", "25533"),
	    "container,replication,sampler sub1");
}

Test(reload, the_hum_follows_its_node)
{
	cr_assert_str_eq(after_edit("25432", "25532"),
	    "container,replication,sampler pub,hum 1,hum 2");
}

Test(reload, a_row_filter_changes_replication_not_the_samplers)
{
	cr_assert_str_eq(after_edit("aid % 2 = 0", "aid % 3 = 0"),
	    "container,replication,sampler sub2");
}

Test(reload, a_writer_setting_changes_only_the_writer)
{
	cr_assert_str_eq(after_edit("flush_ms = 100", "flush_ms = 300"),
	    "writer");
}

/* Every key of the table is hashed under some worker, or documented as not. */
Test(reload, every_key_reaches_a_worker)
{
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		bool found = k->type == CT_SECRET;
		for (size_t t = 0; t < worker_ntypes && !found; t++) {
			const char *const *c = worker_types[t].config;
			for (; c != NULL && *c != NULL && !found; c++) {
				size_t sl = strlen(k->section);
				found = !strncmp(*c, k->section, sl) &&
				    ((*c)[sl] == '\0' || (*c)[sl] == ' ' ||
				    ((*c)[sl] == '.' && !strcmp(*c + sl + 1,
				    k->key)));
			}
		}
		cr_assert(found, "no worker reads [%s] %s: a reload would "
		    "ignore it", k->section, k->key);
	}
}

/*
 * A link reads its [link] again in place (workers/link.c): a new or
 * changed [link] restarts nothing, not even that link, so its connections
 * stay up.  (A publisher port change restarts no link either: see
 * the_hum_follows_its_node.)
 */
Test(reload, a_link_change_restarts_nothing)
{
	cr_assert_str_eq(after_edit("[writer]\n", "[link sub2]\nlatency_ms = "
	    "50\njitter_ms = 10\nstall = yes\n\n[writer]\n"), "");
	load(&ca, base);
	cr_assert_not_null(find(wa, sup_wanted(&ca, wa, SUP_MAX_SLOTS),
	    "link sub2"), "no link worker for sub2");
}

/* A bypassed link: no link worker, and the replication worker moves the
 * subscription. */
Test(reload, a_bypassed_link_has_no_worker)
{
	static char text[sizeof(base) + 64];
	const char *p = strstr(base, "[writer]\n");

	snprintf(text, sizeof(text), "%.*s[link sub1]\nbypass = yes\n\n%s",
	    (int)(p - base), base, p);
	load(&ca, base);
	load(&cb, text);
	int na = sup_wanted(&ca, wa, SUP_MAX_SLOTS);
	int nb = sup_wanted(&cb, wb, SUP_MAX_SLOTS);
	cr_assert_eq(nb, na - 1);
	cr_assert_null(find(wb, nb, "link sub1"));
	cr_assert_not_null(find(wb, nb, "link sub2"));
	cr_assert_neq(find(wa, na, "replication")->slice,
	    find(wb, nb, "replication")->slice);
	cr_assert_eq(find(wa, na, "sampler sub1")->slice,
	    find(wb, nb, "sampler sub1")->slice);
}

/* issue 15: a change to one hum group restarts only that group's workers. */
static const char groups[] =
    "[lab]\nname = rl\nstate_dir = /tmp/rl\n\n"
    "[node pub]\nrole = publisher\nport = 25432\n\n"
    "[node sub1]\nrole = subscriber\nport = 25433\n\n"
    "[hum]\nclients = 2\nrate = 50\n\n"
    "[hum ro]\nclients = 2\nrate = 80\nnode = sub1\nworkload = select\n\n"
    "[hum w]\nclients = 1\nprofile = pulse\n";

static const char *
groups_edit(const char *from, const char *to)
{
	static char text[sizeof(groups) + 64], out[512];
	const char *p = strstr(groups, from);

	cr_assert_not_null(p, "%s is not in the groups config", from);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(p - groups), groups, to,
	    p + strlen(from));
	changed(groups, text, out, sizeof(out));
	return out;
}

Test(reload, one_hum_group_restarts_only_its_workers)
{
	int n;

	/* the names: [hum] keeps "hum 1", groups are "hum NAME.N" */
	load(&ca, groups);
	n = sup_wanted(&ca, wa, SUP_MAX_SLOTS);
	cr_assert_not_null(find(wa, n, "hum 1"));
	cr_assert_not_null(find(wa, n, "hum ro.2"));
	cr_assert_not_null(find(wa, n, "hum w.1"));
	cr_assert_null(find(wa, n, "hum w.2"));
	cr_assert_str_eq(groups_edit("rate = 80", "rate = 90"),
	    "hum ro.1,hum ro.2");
	cr_assert_str_eq(groups_edit("rate = 50", "rate = 60"),
	    "hum 1,hum 2");
	cr_assert_str_eq(groups_edit("profile = pulse", "profile = sine"),
	    "hum w.1");
	/* a group follows its own node, not the publisher */
	cr_assert_str_eq(groups_edit("25433", "25533"),
	    "container,replication,sampler sub1,hum ro.1,hum ro.2");
}
