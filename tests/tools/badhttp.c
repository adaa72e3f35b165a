/*
 * badhttp.c: an HTTP server that answers badly, to test that the writer
 * times out, retries and spools instead of hanging or crashing.  It only
 * listens on 127.0.0.1.  Modes:
 *   hang       accept and read, never answer, never close
 *   garbage    answer with bytes that are not HTTP, then close
 *   truncated  a 204 promising a body it never finishes, then close
 *   error500   HTTP 500 with a JSON error
 *   reset      accept and close at once
 *   slow       one byte of a valid 204 every 2 s
 * Each connection is logged on stderr ("badhttp MODE: connection").
 * usage: badhttp PORT MODE   (runs until killed)
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 64

static const char garbage[] = "\x16\x03\x01garbage\r\n\r\n{not http at all";
static const char truncated[] = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n"
    "Content-Type: application/json\r\n\r\n{\"results\":[";
static const char error500[] = "HTTP/1.1 500 Internal Server Error\r\n"
    "Content-Type: application/json\r\nContent-Length: 27\r\n"
    "Connection: close\r\n\r\n{\"error\":\"engine on fire\"}\n";
static const char slow[] = "HTTP/1.1 204 No Content\r\n\r\n";


int
main(int argc, char **argv)
{
	struct pollfd pf[MAXC + 1];
	int fds[MAXC], nc = 0, ls, one = 1, port;
	size_t slow_sent[MAXC];
	struct sockaddr_in sa;
	const char *mode;
	char buf[65536];

	if (argc != 3) {
		fprintf(stderr, "usage: badhttp PORT MODE\n");
		return 2;
	}
	port = atoi(argv[1]);
	mode = argv[2];
	signal(SIGPIPE, SIG_IGN);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls == -1 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(ls, 16) == -1) {
		fprintf(stderr, "badhttp: 127.0.0.1:%d: %s\n", port,
		    strerror(errno));
		return 1;
	}
	for (;;) {
		pf[0].fd = ls;
		pf[0].events = POLLIN;
		for (int i = 0; i < nc; i++) {
			pf[i + 1].fd = fds[i];
			pf[i + 1].events = POLLIN;
		}
		if (poll(pf, (nfds_t)nc + 1, 2000) == -1 && errno != EINTR)
			return 1;
		if (!strcmp(mode, "slow")) {
			for (int i = 0; i < nc; i++)
				if (slow_sent[i] < sizeof(slow) - 1 &&
				    write(fds[i], slow + slow_sent[i], 1) == 1)
					slow_sent[i]++;
		}
		for (int i = nc - 1; i >= 0; i--) {
			ssize_t n;
			const char *ans = NULL;
			size_t alen = 0;

			if (!(pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(fds[i], buf, sizeof(buf));
			if (n > 0) {
				if (!strcmp(mode, "garbage"))
					ans = garbage, alen = sizeof(garbage) - 1;
				else if (!strcmp(mode, "truncated"))
					ans = truncated, alen = sizeof(truncated) - 1;
				else if (!strcmp(mode, "error500"))
					ans = error500, alen = sizeof(error500) - 1;
				if (ans == NULL)
					continue; /* hang, slow: keep reading */
				(void)!write(fds[i], ans, alen);
			}
			close(fds[i]);
			fds[i] = fds[nc - 1];
			slow_sent[i] = slow_sent[nc - 1];
			nc--;
		}
		if (pf[0].revents & POLLIN) {
			int fd = accept(ls, NULL, NULL);

			if (fd == -1)
				continue;
			/* the test waits for this line: a post reached us */
			fprintf(stderr, "badhttp %s: connection\n", mode);
			if (!strcmp(mode, "reset") || nc == MAXC) {
				close(fd);
				continue;
			}
			fds[nc] = fd;
			slow_sent[nc] = 0;
			nc++;
		}
	}
}
