/*
 * link.c: one subscriber's link to the publisher, a TCP proxy on the host
 * (epoll, non-blocking, no privileges; the same on both backends).  The
 * subscription connects to the link's listen address (links/NODE.addr) and
 * the link to the publisher's port.  Per connection and direction the
 * bytes read wait in a queue until due (latency +- jitter, never
 * reordered), go out at most at the link's rate, are held while the link
 * stalls; a partition cuts every connection and refuses new ones.
 *
 * The settings come from [link NODE] of the config, read again when the
 * lab's config generation changes (a reload: the link keeps its
 * connections), and from links/NODE.set (link_apply, `labsup link`), polled
 * every 100 ms.  Each second the link reports its figures (REC_LINK, the
 * `labsup` measurement) and its slot's counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../backend/backend.h"
#include "../lib/link.h"
#include "link.h"
#include "worker.h"

/* ---- the delay queue ------------------------------------------------ */

int
lq_push(struct lq *q, const void *data, size_t len, int64_t now,
    int64_t delay_ns)
{
	struct lq_chunk *c = malloc(sizeof(*c) + len);

	if (c == NULL)
		return -1;
	c->next = NULL;
	c->enq_ns = now;
	c->due_ns = now + (delay_ns > 0 ? delay_ns : 0);
	if (c->due_ns < q->last_due)
		c->due_ns = q->last_due;
	q->last_due = c->due_ns;
	c->len = len;
	c->off = 0;
	memcpy(c->data, data, len);
	if (q->tail != NULL)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->bytes += len;
	return 0;
}

struct lq_chunk *
lq_due(struct lq *q, int64_t now)
{
	return q->head != NULL && q->head->due_ns <= now ? q->head : NULL;
}

int64_t
lq_consume(struct lq *q, size_t n, int64_t now)
{
	struct lq_chunk *c = q->head;
	int64_t delay;

	c->off += n;
	q->bytes -= n;
	if (c->off < c->len)
		return -1;
	delay = now - c->enq_ns;
	q->head = c->next;
	if (q->head == NULL)
		q->tail = NULL;
	free(c);
	return delay;
}

int64_t
lq_next_due(const struct lq *q)
{
	return q->head != NULL ? q->head->due_ns : INT64_MAX;
}

void
lq_free(struct lq *q)
{
	while (q->head != NULL) {
		struct lq_chunk *c = q->head;
		q->head = c->next;
		free(c);
	}
	memset(q, 0, sizeof(*q));
}

/* ---- the token bucket ----------------------------------------------- */

/* What a shaped direction waits for before writing again: not byte by byte. */
#define TB_STEP 4096.0

void
tb_set(struct tb *b, int rate_kbps, int64_t now)
{
	b->rate = rate_kbps * 1024.0;
	/* 20 ms worth: smooth at the scale of the delays we add */
	b->burst = b->rate / 50 > TB_STEP ? b->rate / 50 : TB_STEP;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	b->last_ns = now;
}

static void
tb_refill(struct tb *b, int64_t now)
{
	if (now > b->last_ns) {
		b->tokens += b->rate * (double)(now - b->last_ns) / 1e9;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last_ns = now;
	}
}

size_t
tb_take(struct tb *b, size_t want, int64_t now)
{
	size_t n;

	if (b->rate <= 0)
		return want;
	tb_refill(b, now);
	n = b->tokens >= (double)want ? want : (size_t)b->tokens;
	b->tokens -= (double)n;
	return n;
}

void
tb_give(struct tb *b, size_t n)
{
	if (b->rate > 0)
		b->tokens += (double)n;
}

int64_t
tb_wait_ns(const struct tb *b, int64_t now)
{
	double have, need = b->burst < TB_STEP ? b->burst : TB_STEP;

	if (b->rate <= 0)
		return 0;
	have = b->tokens + b->rate * (double)(now - b->last_ns) / 1e9;
	if (have >= need)
		return 0;
	return (int64_t)((need - have) / b->rate * 1e9) + 1;
}

/* ---- the proxy ------------------------------------------------------ */

#define LINK_MAX_CONNS 64
enum { SIDE_SUB = 0, SIDE_PUB = 1 };
/* a direction is named by the side it writes to */
enum { DIR_DOWN = 0, DIR_UP = 1 };	/* to the subscriber, to the pub */

struct conn {
	bool used, connecting;
	int fd[2];		/* SIDE_SUB, SIDE_PUB */
	struct lq q[2];		/* DIR_DOWN: read from pub, for sub */
	bool eof[2];		/* the direction's source is done */
	bool shut[2];		/* the direction's target got SHUT_WR */
	bool blocked[2];	/* the direction's target said EAGAIN */
	uint32_t ev[2];		/* epoll interest now, per side */
};

struct link {
	struct worker_ctx *ctx;
	struct config *cfg;	/* my copy: reloads replace it */
	uint64_t generation;
	const char *node;
	int lfd, ep;
	struct conn conns[LINK_MAX_CONNS];
	struct link_settings set;
	bool settled;		/* set holds what was in force */
	struct tb tb[2];
	uint64_t rng;
	const struct backend_ops *be;
	char host[64];		/* where I listen */
	int port;
	char up[64];		/* where the publisher is */
	int up_port;
	/* figures */
	int64_t bytes[2], accepted, refused, partitions, nconns;
	int64_t delay_sum_ns, delay_n;
	int64_t total_bytes[2];
};

static int64_t
link_rand(struct link *l, int64_t span)
{
	/* xorshift64: the jitter needs no better randomness */
	l->rng ^= l->rng << 13;
	l->rng ^= l->rng >> 7;
	l->rng ^= l->rng << 17;
	return span > 0 ? (int64_t)(l->rng % (uint64_t)(2 * span + 1)) - span :
	    0;
}

static bool
link_shapes(const struct link *l, int dir)
{
	return l->set.direction == LINK_BOTH ||
	    (l->set.direction == LINK_DOWN && dir == DIR_DOWN) ||
	    (l->set.direction == LINK_UP && dir == DIR_UP);
}

static void
conn_close(struct link *l, struct conn *c)
{
	for (int s = 0; s < 2; s++) {
		if (c->fd[s] >= 0)
			close(c->fd[s]);
		lq_free(&c->q[s]);
	}
	memset(c, 0, sizeof(*c));
	c->fd[0] = c->fd[1] = -1;
	l->nconns--;
}

static void
conn_watch(struct link *l, struct conn *c, int side, uint32_t want)
{
	struct epoll_event e;

	if (c->fd[side] < 0 || c->ev[side] == want)
		return;
	memset(&e, 0, sizeof(e));
	e.events = want;
	e.data.u64 = ((uint64_t)(c - l->conns) << 1 | (uint64_t)side) + 1;
	if (epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd[side], &e) == -1)
		log_warn("link %s: epoll_ctl", l->node);
	c->ev[side] = want;
}

static int
conn_add_fd(struct link *l, struct conn *c, int side, uint32_t want)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = want;
	e.data.u64 = ((uint64_t)(c - l->conns) << 1 | (uint64_t)side) + 1;
	c->ev[side] = want;
	return epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd[side], &e);
}

static void
link_accept(struct link *l)
{
	struct sockaddr_in up;
	struct conn *c = NULL;
	int fd, one = 1;

	while ((fd = accept4(l->lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) >= 0) {
		for (int i = 0; i < LINK_MAX_CONNS && c == NULL; i++)
			if (!l->conns[i].used)
				c = &l->conns[i];
		if (l->set.partition || c == NULL) {
			/* a partition refuses: the peer sees a reset */
			struct linger lg = { 1, 0 };
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fd);
			l->refused++;
			if (c == NULL)
				log_warnx("link %s: more than %d connections: "
				    "refused one", l->node, LINK_MAX_CONNS);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->used = true;
		c->fd[SIDE_SUB] = fd;
		c->fd[SIDE_PUB] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		l->nconns++;
		l->accepted++;
		memset(&up, 0, sizeof(up));
		up.sin_family = AF_INET;
		up.sin_port = htons((uint16_t)l->up_port);
		inet_pton(AF_INET, l->up, &up.sin_addr);
		if (c->fd[SIDE_PUB] < 0 || (connect(c->fd[SIDE_PUB],
		    (struct sockaddr *)&up, sizeof(up)) == -1 &&
		    errno != EINPROGRESS)) {
			log_warn("link %s: cannot connect to the publisher at "
			    "%s:%d", l->node, l->up, l->up_port);
			conn_close(l, c);
			c = NULL;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(c->fd[SIDE_PUB], IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		c->connecting = true;
		if (conn_add_fd(l, c, SIDE_SUB, EPOLLIN) == -1 ||
		    conn_add_fd(l, c, SIDE_PUB, EPOLLOUT) == -1) {
			log_warn("link %s: epoll_ctl", l->node);
			conn_close(l, c);
		}
		c = NULL;
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		log_warn("link %s: accept", l->node);
}

/*
 * Write len bytes of dir at once; *sent says how many went (the rest
 * waits in the queue).  -1: close the conn.
 */
static int
conn_write_now(struct link *l, struct conn *c, int dir,
    const unsigned char *buf, size_t len, size_t *sent)
{
	int dst = dir == DIR_DOWN ? SIDE_SUB : SIDE_PUB;
	ssize_t w = write(c->fd[dst], buf, len);

	*sent = 0;
	if (w < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->blocked[dir] = true;
			return 0;
		}
		return errno == EINTR ? 0 : -1;
	}
	*sent = (size_t)w;
	l->bytes[dir] += w;
	l->total_bytes[dir] += w;
	if ((size_t)w == len)
		l->delay_n++;	/* a chunk held for no time */
	return 0;
}

/* Read what side has into the direction it feeds. -1: close the conn. */
static int
conn_read(struct link *l, struct conn *c, int side, int64_t now)
{
	unsigned char buf[LQ_CHUNK];
	int dir = side == SIDE_PUB ? DIR_DOWN : DIR_UP;
	struct lq *q = &c->q[dir];

	while (!c->eof[dir] && q->bytes < LQ_CAP) {
		ssize_t n = read(c->fd[side], buf, sizeof(buf));
		if (n == 0) {
			c->eof[dir] = true;
			break;
		}
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR ? 0 : -1;
		int64_t d = 0;
		bool shaped = link_shapes(l, dir) && (l->set.latency_ms ||
		    l->set.jitter_ms || l->set.rate_kbps);
		if (shaped)
			d = (int64_t)l->set.latency_ms * 1000000 +
			    link_rand(l, (int64_t)l->set.jitter_ms * 1000000);
		size_t sent = 0;
		/* pass-through with nothing queued: straight on, no copy */
		if (!shaped && q->head == NULL && !l->set.stall &&
		    !c->blocked[dir] && !(c->connecting && dir == DIR_UP) &&
		    conn_write_now(l, c, dir, buf, (size_t)n, &sent) == -1)
			return -1;
		if (sent < (size_t)n && lq_push(q, buf + sent, (size_t)n - sent,
		    now, d) == -1) {
			log_warnx("link %s: out of memory", l->node);
			return -1;
		}
		/* a short read drained the socket: epoll tells of more */
		if ((size_t)n < sizeof(buf))
			break;
	}
	return 0;
}

/* Deliver what is due in dir.  -1: close the conn. */
static int
conn_flush(struct link *l, struct conn *c, int dir, int64_t now)
{
	int dst = dir == DIR_DOWN ? SIDE_SUB : SIDE_PUB;
	struct lq_chunk *ch;

	if (c->connecting && dst == SIDE_PUB)
		return 0;
	while (!l->set.stall && !c->blocked[dir] &&
	    (ch = lq_due(&c->q[dir], now)) != NULL) {
		size_t want = ch->len - ch->off, n = want;
		if (link_shapes(l, dir))
			n = tb_take(&l->tb[dir], want, now);
		if (n == 0)
			break;
		ssize_t w = write(c->fd[dst], ch->data + ch->off, n);
		if (w < 0) {
			tb_give(&l->tb[dir], n);
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->blocked[dir] = true;
				break;
			}
			return errno == EINTR ? 0 : -1;
		}
		tb_give(&l->tb[dir], n - (size_t)w);
		l->bytes[dir] += w;
		l->total_bytes[dir] += w;
		/* the clock now, not the loop's: what the bytes waited */
		int64_t delay = lq_consume(&c->q[dir], (size_t)w, mono_ns());
		if (delay >= 0) {
			l->delay_sum_ns += delay;
			l->delay_n++;
		}
	}
	if (c->eof[dir] && c->q[dir].head == NULL && !c->shut[dir]) {
		shutdown(c->fd[dst], SHUT_WR);
		c->shut[dir] = true;
	}
	return 0;
}

/* Epoll interest of both sides from the conn's state. */
static void
conn_interest(struct link *l, struct conn *c)
{
	for (int side = 0; side < 2; side++) {
		int in = side == SIDE_PUB ? DIR_DOWN : DIR_UP;	/* it feeds */
		int out = side == SIDE_PUB ? DIR_UP : DIR_DOWN;	/* it takes */
		uint32_t want = 0;
		if (!c->eof[in] && c->q[in].bytes < LQ_CAP &&
		    !(side == SIDE_PUB && c->connecting))
			want |= EPOLLIN;
		if (c->blocked[out] || (side == SIDE_PUB && c->connecting))
			want |= EPOLLOUT;
		conn_watch(l, c, side, want);
	}
}

static void
conn_event(struct link *l, struct conn *c, int side, uint32_t ev,
    int64_t now)
{
	if (side == SIDE_PUB && c->connecting && (ev & (EPOLLOUT | EPOLLERR |
	    EPOLLHUP))) {
		int e = 0;
		socklen_t el = sizeof(e);
		getsockopt(c->fd[SIDE_PUB], SOL_SOCKET, SO_ERROR, &e, &el);
		if (e != 0) {
			log_warnx("link %s: cannot connect to the publisher: "
			    "%s", l->node, strerror(e));
			conn_close(l, c);
			return;
		}
		c->connecting = false;
	} else if (ev & EPOLLOUT)
		c->blocked[side == SIDE_PUB ? DIR_UP : DIR_DOWN] = false;
	if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
	    conn_read(l, c, side, now) == -1) {
		conn_close(l, c);
		return;
	}
	/*
	 * A hang-up or error is reported whatever the interest, for as long
	 * as the socket is open: a dead socket can take nothing more, so
	 * the connection goes (or the loop would spin while it stalls).
	 */
	if (ev & (EPOLLHUP | EPOLLERR))
		conn_close(l, c);
}

/* Cut every connection (a partition). */
static void
link_cut(struct link *l)
{
	for (int i = 0; i < LINK_MAX_CONNS; i++)
		if (l->conns[i].used) {
			struct conn *c = &l->conns[i];
			struct linger lg = { 1, 0 };
			for (int s = 0; s < 2; s++)
				if (c->fd[s] >= 0)
					setsockopt(c->fd[s], SOL_SOCKET,
					    SO_LINGER, &lg, sizeof(lg));
			conn_close(l, c);
			l->refused++;
		}
}

static int
link_state(const struct link *l)
{
	static const struct link_settings none;

	if (l->set.partition)
		return 3;
	if (l->set.stall)
		return 2;
	return link_settings_same(&l->set, &none) ? 0 : 1;
}

/* The settings in force now; applies a change to live connections. */
static void
link_settle(struct link *l, int64_t now)
{
	struct link_settings s;
	int64_t until;
	char a[128], b[160];

	link_effective(l->cfg, l->node, &s, &until);
	if (link_settings_same(&s, &l->set))
		return;
	link_settings_text(&s, b, sizeof(b));
	if (l->settled) {
		log_info("link %s: %s -> %s", l->node,
		    link_settings_text(&l->set, a, sizeof(a)), b);
		worker_event(l->ctx, "link", "%s: %s", l->node, b);
	} else
		log_info("link %s: %s", l->node, b);
	l->settled = true;
	if (s.partition && !l->set.partition) {
		l->partitions++;
		link_cut(l);
	}
	l->set = s;
	for (int d = 0; d < 2; d++)
		tb_set(&l->tb[d], s.rate_kbps, mono_ns());
	status_set(l->ctx->slot, WS_RUNNING, "%s:%d, %s", l->host, l->port,
	    link_settings_text(&s, b, sizeof(b)));
	(void)now;
}

/* A reload: take the new config's [link] (the connections stay). */
static void
link_reloaded(struct link *l)
{
	struct lab_info info;
	struct config *next;
	char err[512];

	seg_read_info(l->ctx->seg, &info);
	if (info.generation == l->generation)
		return;
	l->generation = info.generation;
	if ((next = calloc(1, sizeof(*next))) == NULL)
		return;
	if (config_load(next, l->cfg->path, err, sizeof(err)) == -1) {
		/* the supervisor refused it too, or it changed since */
		log_warnx("link %s: keeping the settings I have: %s", l->node,
		    err);
		free(next);
		return;
	}
	next->lab.backend = l->cfg->lab.backend;
	free(l->cfg);
	l->cfg = next;
	/* the publisher may have moved; where I listen stays */
	char listen[64], up[64];
	int port;
	if (l->be->link_addr(l->cfg, listen, sizeof(listen), up, sizeof(up),
	    &port, err, sizeof(err)) == 0) {
		snprintf(l->up, sizeof(l->up), "%s", up);
		l->up_port = port;
	}
}

/*
 * Listen where the backend said: 0, -1 (worth another try) or -2 (the
 * config cannot work).
 */
static int
link_listen(struct link *l, char *err, size_t errlen)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int one = 1, prev = 0;
	char h[64];

	/* the port it had before, so the subscription need not change */
	if (link_addr_read(l->cfg, l->node, h, sizeof(h), &prev) == -1 ||
	    strcmp(h, l->host) != 0)
		prev = 0;
	l->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(l->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	if (inet_pton(AF_INET, l->host, &a.sin_addr) != 1) {
		snprintf(err, errlen, "%s: links need an IPv4 address ([lab] "
		    "bind), or bypass = yes in [link %s]", l->host, l->node);
		return -2;	/* the config's: restarting will not help */
	}
	a.sin_port = htons((uint16_t)prev);
	if (bind(l->lfd, (struct sockaddr *)&a, sizeof(a)) == -1) {
		a.sin_port = 0;
		if (bind(l->lfd, (struct sockaddr *)&a, sizeof(a)) == -1) {
			snprintf(err, errlen, "cannot bind %s: %s", l->host,
			    strerror(errno));
			return -1;
		}
	}
	if (listen(l->lfd, 64) == -1 ||
	    getsockname(l->lfd, (struct sockaddr *)&a, &al) == -1) {
		snprintf(err, errlen, "listen on %s: %s", l->host,
		    strerror(errno));
		return -1;
	}
	l->port = ntohs(a.sin_port);
	if (link_addr_write(l->cfg, l->node, l->host, l->port) == -1) {
		snprintf(err, errlen, "cannot record the link's address");
		return -1;
	}
	return 0;
}

static void
link_report(struct link *l, int64_t now)
{
	struct record r;
	int32_t delay_us = l->delay_n ? (int32_t)(l->delay_sum_ns / l->delay_n /
	    1000) : 0;
	int64_t queued = 0;

	for (int i = 0; i < LINK_MAX_CONNS; i++)
		if (l->conns[i].used)
			queued += (int64_t)(l->conns[i].q[0].bytes +
			    l->conns[i].q[1].bytes);
	memset(&r, 0, sizeof(r));
	r.kind = REC_LINK;
	snprintf(r.u.link.worker, sizeof(r.u.link.worker), "link %s", l->node);
	snprintf(r.u.link.node, sizeof(r.u.link.node), "%s", l->node);
	r.u.link.bytes_down = l->bytes[DIR_DOWN];
	r.u.link.bytes_up = l->bytes[DIR_UP];
	r.u.link.connections = l->nconns;
	r.u.link.accepted = l->accepted;
	r.u.link.refused = l->refused;
	r.u.link.partitions = l->partitions;
	r.u.link.delay_us = delay_us;
	r.u.link.state = link_state(l);
	r.u.link.queued = queued;
	worker_emit(l->ctx, &r);

	struct slot *s = l->ctx->slot;
	status_counter_set(s, LK_BYTES_DOWN, l->total_bytes[DIR_DOWN]);
	status_counter_set(s, LK_BYTES_UP, l->total_bytes[DIR_UP]);
	status_counter_set(s, LK_CONNECTIONS, l->nconns);
	status_counter_set(s, LK_ACCEPTED, l->accepted);
	status_counter_set(s, LK_REFUSED, l->refused);
	status_counter_set(s, LK_PARTITIONS, l->partitions);
	status_counter_set(s, LK_PORT, l->port);
	status_counter_set(s, LK_DELAY_US, delay_us);
	status_heartbeat(s);
	l->bytes[0] = l->bytes[1] = 0;
	l->delay_sum_ns = l->delay_n = 0;
	(void)now;
}

/* How long epoll may sleep: the next due chunk or token, at most 100 ms. */
static int
link_timeout(struct link *l, int64_t now)
{
	int64_t next = now + 100000000;

	for (int i = 0; i < LINK_MAX_CONNS; i++) {
		struct conn *c = &l->conns[i];
		if (!c->used || l->set.stall)
			continue;
		for (int d = 0; d < 2; d++) {
			int64_t due = lq_next_due(&c->q[d]);
			if (due == INT64_MAX || c->blocked[d])
				continue;
			if (link_shapes(l, d)) {
				int64_t w = now + tb_wait_ns(&l->tb[d], now);
				if (w > due)
					due = w;
			}
			if (due < next)
				next = due;
		}
	}
	if (next <= now)
		return 0;
	/* round up: waking early only spins */
	return (int)((next - now + 999999) / 1000000);
}

static void
link_loop(struct link *l)
{
	struct epoll_event evs[64];
	int64_t next_poll = 0, next_report = mono_ns() + 1000000000;

	while (!worker_stop) {
		int64_t now = mono_ns();
		int n = epoll_wait(l->ep, evs, 64, link_timeout(l, now));
		if (n == -1 && errno != EINTR) {
			log_warn("link %s: epoll_wait", l->node);
			break;
		}
		now = mono_ns();
		for (int i = 0; i < n; i++) {
			uint64_t id = evs[i].data.u64;
			if (id == 0) {
				link_accept(l);
				continue;
			}
			struct conn *c = &l->conns[(id - 1) >> 1];
			if (c->used)
				conn_event(l, c, (int)((id - 1) & 1),
				    evs[i].events, now);
		}
		for (int i = 0; i < LINK_MAX_CONNS; i++) {
			struct conn *c = &l->conns[i];
			if (!c->used)
				continue;
			if (conn_flush(l, c, DIR_DOWN, now) == -1 ||
			    conn_flush(l, c, DIR_UP, now) == -1 ||
			    (c->shut[0] && c->shut[1])) {
				conn_close(l, c);
				continue;
			}
			conn_interest(l, c);
		}
		if (now >= next_poll) {
			next_poll = now + 100000000;
			link_reloaded(l);
			link_settle(l, now);
			if (worker_orphaned())
				break;
		}
		if (now >= next_report) {
			next_report += 1000000000;
			if (next_report < now)
				next_report = now + 1000000000;
			link_report(l, now);
		}
	}
}

int
link_main(struct worker_ctx *ctx)
{
	struct link *l = calloc(1, sizeof(*l));
	struct epoll_event e;
	struct lab_info info;
	char err[256];
	int rc = 1;

	if (l == NULL || (l->cfg = malloc(sizeof(*l->cfg))) == NULL) {
		log_warnx("link %s: out of memory", ctx->arg);
		free(l);
		return 1;
	}
	memcpy(l->cfg, ctx->cfg, sizeof(*l->cfg));
	l->ctx = ctx;
	l->node = ctx->arg;
	l->rng = (uint64_t)now_ns() | 1;
	l->lfd = l->ep = -1;
	for (int i = 0; i < LINK_MAX_CONNS; i++)
		l->conns[i].fd[0] = l->conns[i].fd[1] = -1;
	seg_read_info(ctx->seg, &info);
	l->generation = info.generation;
	/* where to listen depends on the backend, and on docker its network */
	status_set(ctx->slot, WS_STARTING, "waiting for the container worker");
	while (!worker_stop && (l->be = worker_backend(ctx->seg)) == NULL) {
		status_heartbeat(ctx->slot);
		worker_sleep_ms(100);
	}
	while (!worker_stop && l->be->link_addr(l->cfg, l->host,
	    sizeof(l->host), l->up, sizeof(l->up), &l->up_port, err,
	    sizeof(err)) == -1) {
		status_set(ctx->slot, WS_STARTING, "%s", err);
		worker_sleep_ms(500);
	}
	if (worker_stop) {
		rc = 0;
		goto out;
	}
	if ((rc = link_listen(l, err, sizeof(err))) < 0) {
		log_warnx("link %s: %s", l->node, err);
		status_set(ctx->slot, rc == -2 ? WS_FAILED : WS_STARTING, "%s",
		    err);
		rc = rc == -2 ? EXIT_NORESPAWN : 1;
		goto out;
	}
	rc = 1;
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("link %s: epoll_create1", l->node);
		goto out;
	}
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.u64 = 0;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->lfd, &e) == -1) {
		log_warn("link %s: epoll_ctl", l->node);
		goto out;
	}
	for (int d = 0; d < 2; d++)
		tb_set(&l->tb[d], 0, mono_ns());
	/* the first settle logs and publishes whatever is in force */
	l->set.latency_ms = -1;
	link_settle(l, mono_ns());
	log_info("link %s: listening on %s:%d for the publisher at %s:%d",
	    l->node, l->host, l->port, l->up, l->up_port);
	link_loop(l);
	rc = 0;
out:
	for (int i = 0; i < LINK_MAX_CONNS; i++)
		if (l->conns[i].used)
			conn_close(l, &l->conns[i]);
	if (l->lfd >= 0)
		close(l->lfd);
	if (l->ep >= 0)
		close(l->ep);
	free(l->cfg);
	free(l);
	return rc;
}
