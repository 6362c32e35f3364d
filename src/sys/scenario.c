// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fdio.h"
#include "scenario.h"

#define PEER_WAIT_MS 500 /* the four-way peer: longer than the 40 ms delayed ACK */

const struct scenario sf_scenarios[] = {
	{ "handshake",
	  "three-way handshake, then the client closes",
	  { "role=client count=1 handshake_us>=1", "role=server count=1 handshake_us>=1" } },
	{ "four-way",
	  "client closes; the server waits before closing: ACK and FIN apart",
	  { "role=client count=1 close=four-way closer=local time_wait=yes",
	    "role=server count=1 close=four-way closer=peer time_wait=no" } },
	{ "three-way",
	  "client closes; the server closes at once: the ACK rides on its FIN",
	  { "role=client count=1 close=three-way closer=local time_wait=yes",
	    "role=server count=1 close=three-way closer=peer time_wait=no" } },
	{ "server-first",
	  "the server closes first and holds TIME_WAIT",
	  { "role=server count=1 closer=local time_wait=yes",
	    "role=client count=1 closer=peer time_wait=no" } },
	{ "simultaneous",
	  "both FINs cross (held back by nftables): both go through CLOSING",
	  { "count=2 close=simultaneous closer=both time_wait=yes" } },
	{ "reset",
	  "the client aborts with SO_LINGER 0: RST",
	  { "role=client count=1 close=reset closer=local",
	    "role=server count=1 close=reset closer=peer" } },
	{ "refused",
	  "connect to a closed port: SYN answered by RST",
	  { "role=client count=1 close=refused closer=peer", "role=server count=0" } },
	{ "half-close",
	  "client shutdown(SHUT_WR); the server still sends data, then closes",
	  { "role=client count=1 half_close=yes closer=local time_wait=yes",
	    "role=server count=1 half_close=yes closer=peer" } },
	{ "time-wait",
	  "the server closes first and holds TIME_WAIT; re-listening on its port fails "
	  "without SO_REUSEADDR and works with it",
	  { "role=server count=1 closer=local time_wait=yes",
	    "role=client count=1 closer=peer time_wait=no" } },
	{ "close-wait-leak",
	  "the client closes, the server never does: its endpoint stays in CLOSE_WAIT",
	  { "role=server count=1 alive=yes last_state=CLOSE_WAIT closer=peer",
	    "role=client count=1 closer=local time_wait=yes" } },
};
const size_t sf_nscenarios = sizeof(sf_scenarios) / sizeof(sf_scenarios[0]);

struct ctx {
	int family;
	uint16_t port;
	char *err;
	size_t errlen;
	int c2s[2]; /* client -> server signals */
	int s2c[2];
	bool holding; /* the simultaneous close's nftables rule may be in place */
};

static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct ctx *c, const char *fmt, ...)
{
	int e = errno ? errno : EIO;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -e;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static socklen_t make_addr(const struct ctx *c, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (c->family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(c->port);
		a->sin6_addr = in6addr_loopback;
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(c->port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*a);
}

static int listen_fd(struct ctx *c)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(c, &ss);
	int one = 1, fd = socket(c->family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail(c, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 16)) {
		int ret = fail(c, "listen on port %u: %s", c->port, strerror(errno));

		close(fd);
		return ret;
	}
	return fd;
}

static int connect_fd(struct ctx *c)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(c, &ss);
	int fd = socket(c->family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail(c, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* Exactly n bytes: 0, -errno, or -EPIPE when the peer ended first. */
static int read_exact(int fd, char *buf, size_t n)
{
	ssize_t got = sf_read_full(fd, buf, n);

	return got < 0 ? (int)got : (size_t)got == n ? 0 : -EPIPE;
}

/* Reads until EOF; returns the byte count, or -errno. */
static ssize_t drain(int fd)
{
	char buf[4096];
	ssize_t total = 0, r;

	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		total += r;
	}
	return total;
}

static void signal_peer(int fd)
{
	char b = 'g';

	if (write(fd, &b, 1) != 1)
		_exit(3);
}

static void wait_peer(int fd)
{
	char b;

	if (read(fd, &b, 1) != 1)
		_exit(3);
}

/*
 * Wait for the kernel's tick to turn over (the coarse clock moves with it):
 * both closes then fall early in one jiffy, and so do the FIN retransmit
 * timers they arm, which must fire in one pass for the FINs to cross.
 */
static void start_of_tick(void)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &a);
	do
		clock_gettime(CLOCK_MONOTONIC_COARSE, &b);
	while (b.tv_nsec == a.tv_nsec && b.tv_sec == a.tv_sec);
}

static void pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* ping from the client, pong from the server: both sides' data is acknowledged */
static int exchange_client(int fd)
{
	char buf[4];
	int ret = sf_write_full(fd, "ping", 4);

	return ret ? ret : read_exact(fd, buf, 4);
}

static int exchange_server(int fd)
{
	char buf[4];
	int ret = read_exact(fd, buf, 4);

	return ret ? ret : sf_write_full(fd, "pong", 4);
}

static int run_nft(const char *script)
{
	FILE *p = popen("nft -f - 2>&1", "w");

	if (!p)
		return -errno;
	fputs(script, p);
	return pclose(p) == 0 ? 0 : -EIO;
}

static int server_side(struct ctx *c, const char *name, int lfd)
{
	bool first = !strcmp(name, "server-first") || !strcmp(name, "time-wait");
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ssize_t n;

	close(lfd);
	if (fd < 0)
		return 1;
	if (exchange_server(fd))
		return 1;
	if (first) {
		close(fd);
		return 0;
	}
	if (!strcmp(name, "simultaneous")) {
		/* ready; close the moment the client has closed */
		signal_peer(c->s2c[1]);
		wait_peer(c->c2s[0]);
		close(fd);
		return 0;
	}
	if (!strcmp(name, "reset")) {
		n = drain(fd);
		close(fd);
		return n == -ECONNRESET ? 0 : 1;
	}
	n = drain(fd);
	if (n != 0)
		return 1;
	if (!strcmp(name, "close-wait-leak")) {
		/* the bug: EOF seen, socket never closed; the caller ends us */
		signal_peer(c->s2c[1]);
		sleep_ms(60000);
		return 0;
	}
	if (!strcmp(name, "four-way"))
		sleep_ms(PEER_WAIT_MS);
	if (!strcmp(name, "half-close")) {
		/* the client has shut down its sending side; ours is still open */
		if (sf_write_full(fd, "data-1", 6))
			return 1;
		sleep_ms(50);
		if (sf_write_full(fd, "data-2", 6))
			return 1;
		sleep_ms(50);
	}
	close(fd);
	return 0;
}

/* The client's part up to its close(), which the caller does. */
static int client_side(struct ctx *c, const char *name, int fd)
{
	struct linger lg = { 1, 0 };
	ssize_t n;
	int ret;

	ret = exchange_client(fd);
	if (ret)
		return fail(c, "data exchange: %s", strerror(-ret));
	if (!strcmp(name, "server-first") || !strcmp(name, "time-wait")) {
		n = drain(fd);
		if (n)
			return fail(c, "expected EOF from the server, got %zd", n);
	} else if (!strcmp(name, "simultaneous")) {
		wait_peer(c->s2c[0]);
		start_of_tick();
		signal_peer(c->c2s[1]);
	} else if (!strcmp(name, "reset")) {
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
			return fail(c, "SO_LINGER: %s", strerror(errno));
	} else if (!strcmp(name, "half-close")) {
		if (shutdown(fd, SHUT_WR))
			return fail(c, "shutdown: %s", strerror(errno));
		n = drain(fd);
		if (n != 12)
			return fail(c, "half-close: read %zd bytes after shutdown, expected 12", n);
	}
	return 0;
}

const struct scenario *scenario_find(const char *name)
{
	for (size_t i = 0; i < sf_nscenarios; i++)
		if (!strcmp(sf_scenarios[i].name, name))
			return &sf_scenarios[i];
	return NULL;
}

/* bind + listen on the port the server just closed from: TIME_WAIT holds it */
static int try_relisten(struct ctx *c, bool reuse)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(c, &ss);
	int one = 1, ret = 0, fd = socket(c->family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (reuse)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1))
		ret = -errno;
	close(fd);
	return ret;
}

static int relisten_check(struct ctx *c, struct scenario_out *out)
{
	int plain = try_relisten(c, false), reuse = try_relisten(c, true);

	snprintf(out->notes, sizeof(out->notes),
		 "re-listen on port %u at once: without SO_REUSEADDR %s; with SO_REUSEADDR %s",
		 c->port, plain ? strerror(-plain) : "succeeded",
		 reuse ? strerror(-reuse) : "succeeded");
	if (plain != -EADDRINUSE || reuse) {
		snprintf(c->err, c->errlen, "%s (expected EADDRINUSE, then success)", out->notes);
		return -EPROTO;
	}
	return 0;
}

static int run_refused(struct ctx *c)
{
	int fd = connect_fd(c);

	if (fd >= 0) {
		close(fd);
		snprintf(c->err, c->errlen, "port %u accepted a connection; expected refusal",
			 c->port);
		return -EEXIST;
	}
	if (fd != -ECONNREFUSED) {
		snprintf(c->err, c->errlen, "connect: %s (expected ECONNREFUSED)", strerror(-fd));
		return fd;
	}
	return 0;
}

/* The simultaneous close: an nftables rule holds both FINs back until both are out. */
static int hold_fins(struct ctx *c)
{
	char nft[512];
	int ret;

	/* both on one CPU: the two FIN retransmit timers then fire in one pass */
	pin_cpu0();
	snprintf(nft, sizeof(nft),
		 "table inet synfin_sim_%u {\n chain out {\n"
		 "  type filter hook output priority 0;\n"
		 "  tcp sport %u tcp flags & fin == fin drop\n"
		 "  tcp dport %u tcp flags & fin == fin drop\n }\n}\n",
		 c->port, c->port, c->port);
	c->holding = true;
	ret = run_nft(nft);
	if (ret)
		snprintf(c->err, c->errlen, "nft could not install the FIN-holding rule");
	return ret;
}

static void release_fins(struct ctx *c)
{
	char nft[64];

	if (!c->holding)
		return;
	snprintf(nft, sizeof(nft), "delete table inet synfin_sim_%u\n", c->port);
	run_nft(nft);
	c->holding = false;
}

/* The server in a child, the client here, then the server's end. */
static int run_pair(struct ctx *c, const char *name, struct scenario_out *out)
{
	int lfd = listen_fd(c), fd, ret, status;
	pid_t pid;

	if (lfd < 0)
		return lfd;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ret = fail(c, "fork: %s", strerror(errno));
		close(lfd);
		return ret;
	}
	if (pid == 0)
		_exit(server_side(c, name, lfd));
	close(lfd);
	fd = connect_fd(c);
	if (fd < 0) {
		ret = fail(c, "connect: %s", strerror(-fd));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return ret;
	}
	ret = client_side(c, name, fd);
	close(fd);
	if (c->holding) {
		/* both FINs are out and dropped: let the retransmissions through */
		sleep_ms(50);
		release_fins(c);
	}
	if (!strcmp(name, "close-wait-leak")) {
		wait_peer(c->s2c[0]);
		out->leftover_pid = pid;
		return ret;
	}
	if ((waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) && !ret) {
		snprintf(c->err, c->errlen, "the server side of '%s' failed", name);
		ret = -EIO;
	}
	if (!ret && !strcmp(name, "time-wait"))
		ret = relisten_check(c, out);
	return ret;
}

int scenario_run(const struct scenario *sc, int family, uint16_t port, struct scenario_out *out,
		 char *err, size_t errlen)
{
	struct ctx c = { .family = family, .port = port, .err = err, .errlen = errlen };
	int ret = 0;

	errno = 0;
	memset(out, 0, sizeof(*out));
	if (!strcmp(sc->name, "refused"))
		return run_refused(&c);
	if (pipe(c.c2s))
		return fail(&c, "pipe: %s", strerror(errno));
	if (pipe(c.s2c)) {
		ret = fail(&c, "pipe: %s", strerror(errno));
		close(c.c2s[0]);
		close(c.c2s[1]);
		return ret;
	}
	if (!strcmp(sc->name, "simultaneous"))
		ret = hold_fins(&c);
	if (!ret)
		ret = run_pair(&c, sc->name, out);
	release_fins(&c);
	close(c.c2s[0]);
	close(c.c2s[1]);
	close(c.s2c[0]);
	close(c.s2c[1]);
	return ret;
}
