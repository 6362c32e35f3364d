// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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

struct scen_ctx {
	int family;
	uint16_t port;
	char *err;
	size_t errlen;
	int c2s[2]; /* client -> server signals */
	int s2c[2];
	bool holding; /* the simultaneous close's nftables rule may be in place */
	bool filtering; /* a rule of nft_add() may be in place */
	int nsaved;
	struct {
		char name[64];
		char value[32];
	} saved[4]; /* sysctls to set back */
};

static int fail(struct scen_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct scen_ctx *c, const char *fmt, ...)
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

static socklen_t make_addr_port(const struct scen_ctx *c, uint16_t port,
				struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (c->family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*a);
}

static socklen_t make_addr(const struct scen_ctx *c, struct sockaddr_storage *ss)
{
	return make_addr_port(c, c->port, ss);
}

static int listen_fd(struct scen_ctx *c)
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

static int connect_fd(struct scen_ctx *c)
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

static int server_side(struct scen_ctx *c, const char *name, int lfd)
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
static int client_side(struct scen_ctx *c, const char *name, int fd)
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
static int try_relisten(struct scen_ctx *c, bool reuse)
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

static int relisten_check(struct scen_ctx *c, struct scenario_out *out)
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

static int run_refused(struct scen_ctx *c)
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
static int hold_fins(struct scen_ctx *c)
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

static void release_fins(struct scen_ctx *c)
{
	char nft[64];

	if (!c->holding)
		return;
	snprintf(nft, sizeof(nft), "delete table inet synfin_sim_%u\n", c->port);
	run_nft(nft);
	c->holding = false;
}

/* The server in a child, the client here, then the server's end. */
static int run_pair(struct scen_ctx *c, const char *name, struct scenario_out *out)
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

/* ---- the ends that are not a FIN exchange, and unusual opens ---- */

/* A sysctl of this network namespace, set back when the scenario ends. */
static int set_sysctl(struct scen_ctx *c, const char *name, const char *value)
{
	char path[128];
	int fd, ret = 0;
	ssize_t n;

	if (c->nsaved == (int)(sizeof(c->saved) / sizeof(c->saved[0])))
		return fail(c, "too many sysctls");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(c, "%s: %s", path, strerror(errno));
	n = read(fd, c->saved[c->nsaved].value, sizeof(c->saved[0].value) - 1);
	if (n > 0) {
		c->saved[c->nsaved].value[n] = 0;
		snprintf(c->saved[c->nsaved].name, sizeof(c->saved[0].name), "%s", name);
		c->nsaved++;
	}
	if (pwrite(fd, value, strlen(value), 0) < 0)
		ret = fail(c, "%s: %s", path, strerror(errno));
	close(fd);
	return ret;
}

static void restore_sysctls(struct scen_ctx *c)
{
	char path[128];

	while (c->nsaved > 0) {
		int fd;

		c->nsaved--;
		snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", c->saved[c->nsaved].name);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (write(fd, c->saved[c->nsaved].value, strlen(c->saved[c->nsaved].value)) < 0)
			fprintf(stderr, "scenario: cannot set %s back\n", path);
		close(fd);
	}
}

/* One nftables rule on hook ("input", "output"), in the scenario's own table. */
static int nft_add(struct scen_ctx *c, const char *hook, const char *rule)
{
	char nft[512];

	snprintf(nft, sizeof(nft),
		 "table inet synfin_scen_%u {\n chain %s {\n  type filter hook %s priority 0;\n"
		 "  %s\n }\n}\n",
		 c->port, hook, hook, rule);
	c->filtering = true;
	if (run_nft(nft)) {
		snprintf(c->err, c->errlen, "nft could not install '%s'", rule);
		return -EIO;
	}
	return 0;
}

static void nft_clear(struct scen_ctx *c)
{
	char nft[64];

	if (!c->filtering)
		return;
	snprintf(nft, sizeof(nft), "delete table inet synfin_scen_%u\n", c->port);
	run_nft(nft);
	c->filtering = false;
}

static int sockopt(struct scen_ctx *c, int fd, int level, int name, int value, const char *what)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)))
		return fail(c, "%s: %s", what, strerror(errno));
	return 0;
}

/* A socket bound to port on loopback, not connected. */
static int bound_fd(struct scen_ctx *c, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr_port(c, port, &ss);
	int fd = socket(c->family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail(c, "socket: %s", strerror(errno));
	if (sockopt(c, fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR") ||
	    bind(fd, (struct sockaddr *)&ss, len)) {
		int ret = fail(c, "bind to port %u: %s", port, strerror(errno));

		close(fd);
		return ret;
	}
	return fd;
}

/* Starts a connect to port without waiting for it: 0 or -errno. */
static int connect_start(struct scen_ctx *c, int fd, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr_port(c, port, &ss);
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
		return -errno;
	return 0;
}

/* Waits up to ms for a connect started with connect_start(): 0 or -errno. */
static int connect_finish(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0, fl = fcntl(fd, F_GETFL);
	socklen_t len = sizeof(err);

	if (poll(&p, 1, ms) != 1)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return -err;
}

/* The errno a blocking read ends with: 0 at EOF, ENOTCONN... */
static int read_error(int fd)
{
	char buf[64];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	return n < 0 ? errno : 0;
}

typedef int (*server_fn)(struct scen_ctx *c, int lfd);

/* The server in a child process of its own, on lfd, which the parent closes. */
static pid_t fork_server(struct scen_ctx *c, server_fn fn, int lfd)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(fn(c, lfd));
	close(lfd);
	if (pid < 0)
		return fail(c, "fork: %s", strerror(errno));
	return pid;
}

static int reap_server(struct scen_ctx *c, pid_t pid, int ret)
{
	int status;

	if (pid <= 0)
		return ret;
	/* the client side failed: the server may wait for it forever */
	if (ret)
		kill(pid, SIGKILL);
	if ((waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) && !ret) {
		snprintf(c->err, c->errlen, "the server side failed");
		return -EIO;
	}
	return ret;
}

/* accept, then fn on the connection */
static int accept_one(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	close(lfd);
	return fd;
}

static int fastopen_server(struct scen_ctx *c, int lfd)
{
	char buf[5];
	int fd = accept_one(lfd);

	(void)c;
	if (fd < 0 || read_exact(fd, buf, 5) || sf_write_full(fd, "world", 5) || drain(fd))
		return 1;
	close(fd);
	return 0;
}

/* Fast Open: the client's SYN carries data, the server answers with data. */
static int run_fastopen(struct scen_ctx *c, struct scenario_out *out)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(c, &ss);
	int lfd, fd, ret;
	char buf[5];
	pid_t pid;

	(void)out;
	/* client and server, no cookie needed either way */
	ret = set_sysctl(c, "tcp_fastopen", "519");
	lfd = ret ? ret : listen_fd(c);
	if (lfd < 0)
		return lfd;
	if (sockopt(c, lfd, IPPROTO_TCP, TCP_FASTOPEN, 16, "TCP_FASTOPEN")) {
		close(lfd);
		return -EIO;
	}
	pid = fork_server(c, fastopen_server, lfd);
	fd = socket(c->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sendto(fd, "hello", 5, MSG_FASTOPEN, (struct sockaddr *)&ss, len) != 5)
		ret = fail(c, "sendto(MSG_FASTOPEN): %s", strerror(errno));
	else if (read_exact(fd, buf, 5))
		ret = fail(c, "no answer to the SYN's data");
	if (fd >= 0)
		close(fd);
	return reap_server(c, pid, ret);
}

/*
 * Both sides connect to each other. nftables holds the first SYNs back; both
 * sockets are on one CPU and their SYN timers armed in one tick, so the SYNs
 * sent again cross: each side sees the other's SYN while in SYN_SENT.
 */
static int run_simultaneous_open(struct scen_ctx *c, struct scenario_out *out)
{
	int a = bound_fd(c, c->port), b = a < 0 ? a : bound_fd(c, c->port + 1), ret;
	char rule[4];

	(void)out;
	if (a < 0 || b < 0) {
		if (a >= 0)
			close(a);
		return a < 0 ? a : b;
	}
	pin_cpu0();
	ret = nft_add(c, "output", "tcp flags & (syn | ack) == syn drop");
	start_of_tick();
	if (!ret)
		ret = connect_start(c, a, c->port + 1);
	if (!ret)
		ret = connect_start(c, b, c->port);
	sleep_ms(100);
	nft_clear(c);
	if (!ret && ((ret = connect_finish(a, 3000)) || (ret = connect_finish(b, 3000))))
		snprintf(c->err, c->errlen, "simultaneous open: %s", strerror(-ret));
	if (!ret && (sf_write_full(a, "ping", 4) || exchange_server(b) || read_exact(a, rule, 4)))
		ret = fail(c, "data exchange after the open failed");
	close(a);
	sleep_ms(PEER_WAIT_MS);
	close(b);
	return ret;
}

static int shutdown_close_server(struct scen_ctx *c, int lfd)
{
	int fd = accept_one(lfd);

	if (fd < 0 || exchange_server(fd))
		return 1;
	wait_peer(c->c2s[0]);
	/* the client's FIN is held back: this data leaves before we see it */
	if (sf_write_full(fd, "data-1", 6) || drain(fd))
		return 1;
	sleep_ms(PEER_WAIT_MS);
	close(fd);
	return 0;
}

/*
 * shutdown(SHUT_WR), data from the server, then close() while our FIN is
 * still unacknowledged: nftables drops the FIN on its way in (tcpdump sees
 * it), so the FIN goes again after close() and the kernel sets FIN_WAIT1 twice.
 */
static int run_shutdown_close(struct scen_ctx *c, struct scenario_out *out)
{
	int lfd = listen_fd(c), fd, ret;
	char rule[96];
	char buf[6];
	pid_t pid;

	(void)out;
	if (lfd < 0)
		return lfd;
	pid = fork_server(c, shutdown_close_server, lfd);
	snprintf(rule, sizeof(rule), "tcp dport %u tcp flags & fin == fin drop", c->port);
	ret = nft_add(c, "input", rule);
	fd = ret ? ret : connect_fd(c);
	if (fd < 0)
		return reap_server(c, pid, fail(c, "connect: %s", strerror(-fd)));
	if (exchange_client(fd) || shutdown(fd, SHUT_WR))
		ret = fail(c, "exchange or shutdown failed");
	signal_peer(c->c2s[1]);
	if (!ret && read_exact(fd, buf, sizeof(buf)))
		ret = fail(c, "no data after shutdown");
	close(fd);
	nft_clear(c);
	return reap_server(c, pid, ret);
}

static int unread_server(struct scen_ctx *c, int lfd)
{
	int fd = accept_one(lfd);

	(void)c;
	if (fd < 0)
		return 1;
	/* the client's data has arrived; close without reading it */
	sleep_ms(50);
	close(fd);
	return 0;
}

/* The server closes without reading what the client sent: RST (RFC 2525). */
static int run_unread_data(struct scen_ctx *c, struct scenario_out *out)
{
	int lfd = listen_fd(c), fd, ret = 0, err;
	pid_t pid;

	(void)out;
	if (lfd < 0)
		return lfd;
	pid = fork_server(c, unread_server, lfd);
	fd = connect_fd(c);
	if (fd < 0)
		return reap_server(c, pid, fail(c, "connect: %s", strerror(-fd)));
	if (sf_write_full(fd, "unread", 6))
		ret = fail(c, "write failed");
	err = read_error(fd);
	if (!ret && err != ECONNRESET)
		ret = fail(c, "read ended with '%s', expected a reset", strerror(err));
	close(fd);
	return reap_server(c, pid, ret);
}

static int abort_server(struct scen_ctx *c, int lfd)
{
	int fd = accept_one(lfd);

	(void)c;
	if (fd < 0 || exchange_server(fd) || drain(fd))
		return 1;
	/* EOF: the client has closed; this data is more than it will take */
	if (sf_write_full(fd, "late-data", 9))
		return 1;
	sleep_ms(100);
	close(fd);
	return 0;
}

/*
 * The client closes; the server sends data after the client's FIN. Its bare
 * ACKs are dropped, so the data segment is what acknowledges the FIN: the
 * client, in FIN_WAIT1 with its receiving side shut, resets.
 */
static int run_abort_on_data(struct scen_ctx *c, struct scenario_out *out)
{
	char rule[96];
	int lfd = listen_fd(c), fd, ret;
	pid_t pid;

	(void)out;
	if (lfd < 0)
		return lfd;
	pid = fork_server(c, abort_server, lfd);
	snprintf(rule, sizeof(rule), "tcp sport %u tcp flags == ack drop", c->port);
	fd = connect_fd(c);
	if (fd < 0)
		return reap_server(c, pid, fail(c, "connect: %s", strerror(-fd)));
	ret = exchange_client(fd);
	if (!ret)
		ret = nft_add(c, "output", rule);
	close(fd);
	ret = reap_server(c, pid, ret);
	nft_clear(c);
	return ret;
}

/* Drop what the server sends; the client's timer ends its side. */
static int drop_server_segments(struct scen_ctx *c)
{
	char rule[64];

	snprintf(rule, sizeof(rule), "tcp sport %u drop", c->port);
	return nft_add(c, "output", rule);
}

static int hold_server(struct scen_ctx *c, int lfd)
{
	int fd = accept_one(lfd);
	char buf[64];

	if (fd < 0 || exchange_server(fd))
		return 1;
	wait_peer(c->c2s[0]);
	/* take what arrived, so that our close() sends a FIN, not a RST */
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	close(fd);
	return 0;
}

/*
 * A client whose peer went silent, ended by a timer (user timeout or
 * keepalive). The server closes after: its FIN finds no socket and is
 * answered by a RST.
 */
static int run_silenced(struct scen_ctx *c, int (*arm)(struct scen_ctx *c, int fd), bool send_more)
{
	int lfd = listen_fd(c), fd, ret, err;
	pid_t pid;

	if (lfd < 0)
		return lfd;
	pid = fork_server(c, hold_server, lfd);
	fd = connect_fd(c);
	if (fd < 0)
		return reap_server(c, pid, fail(c, "connect: %s", strerror(-fd)));
	ret = arm(c, fd);
	if (!ret)
		ret = exchange_client(fd);
	if (!ret)
		ret = drop_server_segments(c);
	if (!ret && send_more && sf_write_full(fd, "more", 4))
		ret = fail(c, "write failed");
	err = ret ? 0 : read_error(fd);
	if (!ret && err != ETIMEDOUT)
		ret = fail(c, "read ended with '%s', expected a timeout", strerror(err));
	nft_clear(c);
	close(fd);
	signal_peer(c->c2s[1]);
	ret = reap_server(c, pid, ret);
	sleep_ms(100);
	return ret;
}

static int arm_user_timeout(struct scen_ctx *c, int fd)
{
	return sockopt(c, fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 500, "TCP_USER_TIMEOUT");
}

static int arm_keepalive(struct scen_ctx *c, int fd)
{
	if (sockopt(c, fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE") ||
	    sockopt(c, fd, IPPROTO_TCP, TCP_KEEPIDLE, 1, "TCP_KEEPIDLE") ||
	    sockopt(c, fd, IPPROTO_TCP, TCP_KEEPINTVL, 1, "TCP_KEEPINTVL") ||
	    sockopt(c, fd, IPPROTO_TCP, TCP_KEEPCNT, 1, "TCP_KEEPCNT"))
		return -EIO;
	return 0;
}

/* Data unacknowledged for longer than TCP_USER_TIMEOUT (500 ms). */
static int run_user_timeout(struct scen_ctx *c, struct scenario_out *out)
{
	(void)out;
	return run_silenced(c, arm_user_timeout, true);
}

/* An idle connection whose keepalive probe goes unanswered (1 s idle, one probe). */
static int run_keepalive_timeout(struct scen_ctx *c, struct scenario_out *out)
{
	(void)out;
	return run_silenced(c, arm_keepalive, false);
}

/* A SYN nobody answers, sent twice (TCP_SYNCNT 1). */
static int run_syn_timeout(struct scen_ctx *c, struct scenario_out *out)
{
	char rule[64];
	int fd = socket(c->family, SOCK_STREAM | SOCK_CLOEXEC, 0), ret;

	(void)out;
	if (fd < 0)
		return fail(c, "socket: %s", strerror(errno));
	/* dropped on the way in: tcpdump sees the SYNs */
	snprintf(rule, sizeof(rule), "tcp dport %u drop", c->port);
	ret = sockopt(c, fd, IPPROTO_TCP, TCP_SYNCNT, 1, "TCP_SYNCNT");
	if (!ret)
		ret = nft_add(c, "input", rule);
	if (!ret)
		ret = connect_start(c, fd, c->port);
	if (!ret)
		ret = connect_finish(fd, 10000);
	if (ret == -ETIMEDOUT)
		ret = 0;
	else if (!ret)
		ret = fail(c, "the silent peer's port answered");
	else
		snprintf(c->err, c->errlen, "connect: %s, expected a timeout", strerror(-ret));
	nft_clear(c);
	close(fd);
	return ret;
}

static int late_close_server(struct scen_ctx *c, int lfd)
{
	int fd = accept_one(lfd);

	(void)c;
	if (fd < 0 || exchange_server(fd) || drain(fd))
		return 1;
	/* past the client's FIN_WAIT2 time: our FIN finds no socket */
	sleep_ms(1500);
	close(fd);
	return 0;
}

/* The client's FIN_WAIT2 lasts 1 s (TCP_LINGER2); the server closes after 1.5 s. */
static int run_fin_wait2_timeout(struct scen_ctx *c, struct scenario_out *out)
{
	int lfd = listen_fd(c), fd, ret;
	pid_t pid;

	(void)out;
	if (lfd < 0)
		return lfd;
	pid = fork_server(c, late_close_server, lfd);
	fd = connect_fd(c);
	if (fd < 0)
		return reap_server(c, pid, fail(c, "connect: %s", strerror(-fd)));
	ret = sockopt(c, fd, IPPROTO_TCP, TCP_LINGER2, 1, "TCP_LINGER2");
	if (!ret)
		ret = exchange_client(fd);
	close(fd);
	return reap_server(c, pid, ret);
}

/* Two connections wait in the accept queue; the listener closes: both reset. */
static int run_listener_closed(struct scen_ctx *c, struct scenario_out *out)
{
	int lfd = listen_fd(c), fd[2] = { -1, -1 }, ret = 0;

	(void)out;
	if (lfd < 0)
		return lfd;
	for (int i = 0; i < 2 && !ret; i++) {
		fd[i] = connect_fd(c);
		if (fd[i] < 0)
			ret = fail(c, "connect: %s", strerror(-fd[i]));
	}
	if (!ret && sf_write_full(fd[0], "queued", 6))
		ret = fail(c, "write failed");
	sleep_ms(50);
	close(lfd);
	for (int i = 0; i < 2; i++) {
		int err = fd[i] >= 0 ? read_error(fd[i]) : 0;

		if (!ret && err != ECONNRESET)
			ret = fail(c, "read ended with '%s', expected a reset", strerror(err));
		if (fd[i] >= 0)
			close(fd[i]);
	}
	return ret;
}

/*
 * The queue (backlog 0) holds one: the second SYN is dropped until we accept.
 * The kernel may still queue the two in either order, and a connection made
 * with a SYN cookie whose ACK found the queue full reaches the listener only
 * with the client's first data: so no accept() or read waits for one
 * connection while the client talks on the other. Each is accepted when the
 * listener has one and answered when the client talks on it.
 */
static int accept_late_server(struct scen_ctx *c, int lfd)
{
	struct pollfd p[3] = { { .fd = lfd, .events = POLLIN },
			       { .fd = -1, .events = POLLIN },
			       { .fd = -1, .events = POLLIN } };
	int accepted = 0, served = 0;

	wait_peer(c->c2s[0]);
	sleep_ms(300);
	while (served < 2) {
		if (poll(p, 3, 20000) <= 0)
			return 1;
		if (p[0].revents) {
			p[1 + accepted].fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (p[1 + accepted].fd < 0)
				return 1;
			if (++accepted == 2)
				p[0].fd = -1;
		}
		for (int i = 1; i < 3; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			if (exchange_server(p[i].fd) || drain(p[i].fd))
				return 1;
			close(p[i].fd);
			p[i].fd = -1;
			served++;
		}
	}
	close(lfd);
	return 0;
}

/*
 * A listener with backlog 0 and nobody accepting: one connection fills its
 * queue, the next one's SYN is dropped and sent again after a second, by
 * when the server accepts.
 */
static int run_accept_queue_full(struct scen_ctx *c, struct scenario_out *out)
{
	int lfd = listen_fd(c), fd[2] = { -1, -1 }, ret;
	pid_t pid;

	(void)out;
	if (lfd < 0)
		return lfd;
	if (listen(lfd, 0)) {
		close(lfd);
		return fail(c, "listen: %s", strerror(errno));
	}
	pid = fork_server(c, accept_late_server, lfd);
	fd[0] = connect_fd(c);
	fd[1] = socket(c->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ret = fd[0] < 0 || fd[1] < 0 ? fail(c, "connect or socket failed") : 0;
	if (!ret)
		ret = connect_start(c, fd[1], c->port);
	signal_peer(c->c2s[1]);
	/* SYN retransmissions at 1, 3, 7 and 15 s: a slow server still gets one in */
	if (!ret && (ret = connect_finish(fd[1], 16000)))
		snprintf(c->err, c->errlen, "the second connect: %s", strerror(-ret));
	for (int i = 0; i < 2; i++) {
		if (!ret && exchange_client(fd[i]))
			ret = fail(c, "data exchange failed");
		if (fd[i] >= 0)
			close(fd[i]);
	}
	return reap_server(c, pid, ret);
}

int scenario_run(const struct scenario *sc, int family, uint16_t port, struct scenario_out *out,
		 char *err, size_t errlen)
{
	struct scen_ctx c = { .family = family, .port = port, .err = err, .errlen = errlen };
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
		ret = sc->run ? sc->run(&c, out) : run_pair(&c, sc->name, out);
	release_fins(&c);
	nft_clear(&c);
	restore_sysctls(&c);
	close(c.c2s[0]);
	close(c.c2s[1]);
	close(c.s2c[0]);
	close(c.s2c[1]);
	return ret;
}

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
	  { "count=2 close=simultaneous closer=both time_wait=yes" },
	  .racy = "the FINs crossed" },
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
	{ "fastopen",
	  "TCP Fast Open: the client's SYN carries data, the server answers with data",
	  { "role=client count=1 closer=local time_wait=yes",
	    "role=server count=1 closer=peer time_wait=no" },
	  run_fastopen },
	{ "simultaneous-open",
	  "both sides connect to each other and their SYNs cross (held back by nftables)",
	  { "count=2 role=client close=four-way", "role=server count=0" },
	  run_simultaneous_open,
	  "the SYNs crossed" },
	{ "shutdown-close",
	  "shutdown(SHUT_WR), data from the server, then close() with the FIN still "
	  "unacknowledged (held back by nftables)",
	  { "role=client count=1 close=four-way closer=local time_wait=yes half_close=yes",
	    "role=server count=1 close=four-way closer=peer" },
	  run_shutdown_close },
	{ "unread-data",
	  "the server closes without reading what the client sent: RST",
	  { "role=server count=1 close=reset closer=local reason=unread-data",
	    "role=client count=1 close=reset closer=peer reason=peer-reset" },
	  run_unread_data },
	{ "abort-on-data",
	  "the server sends data after the client closed: the client resets",
	  { "role=client count=1 close=reset closer=local reason=abort-on-data",
	    "role=server count=1 close=reset closer=peer reason=peer-reset" },
	  run_abort_on_data },
	{ "user-timeout",
	  "the server goes silent (nftables); the client's data times out (TCP_USER_TIMEOUT)",
	  { "role=client count=1 close=aborted closer=local reason=user-timeout",
	    "role=server count=1 close=reset closer=peer reason=peer-reset" },
	  run_user_timeout },
	{ "syn-timeout",
	  "connect to a silent peer (nftables drops the SYNs): the SYN times out",
	  { "role=client count=1 close=aborted closer=local reason=syn-timeout",
	    "role=server count=0" },
	  run_syn_timeout },
	{ "keepalive-timeout",
	  "the server goes silent (nftables); the client's keepalive probe goes unanswered",
	  { "role=client count=1 close=reset closer=local reason=keepalive-timeout",
	    "role=server count=1 close=reset closer=peer reason=peer-reset" },
	  run_keepalive_timeout },
	{ "fin-wait2-timeout",
	  "the client's FIN_WAIT2 ends after 1 s (TCP_LINGER2); the server's late FIN is reset",
	  { "role=client count=1 close=aborted closer=local reason=fin-wait2-timeout time_wait=no",
	    "role=server count=1 close=reset closer=peer reason=peer-reset" },
	  run_fin_wait2_timeout },
	{ "listener-closed",
	  "the listener closes with two connections waiting in its accept queue",
	  { "role=server count=2 close=reset closer=local reason=listener-closed",
	    "role=client count=2 close=reset closer=peer reason=peer-reset" },
	  run_listener_closed },
	{ "accept-queue-full",
	  "backlog 0 and a slow accept(): the second SYN is dropped and sent again",
	  { "role=client count=2 closer=local", "role=server count=2 closer=peer" },
	  run_accept_queue_full },
};
const size_t sf_nscenarios = sizeof(sf_scenarios) / sizeof(sf_scenarios[0]);
