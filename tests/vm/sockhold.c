// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * VM test helper: make N TIME_WAIT sockets whose service port is TW_PORT and M
 * CLOSE_WAIT sockets on CW_PORT, on 127.0.0.1, then hold them until killed, so
 * that snapshot and watch find exact counts made before they started.
 * Usage: sockhold TW_PORT N CW_PORT M   (prints "ready" once the kernel's
 * tables show every socket in its state)
 *
 * TIME_WAIT: the client closes first and the server closes on EOF, so the
 * client's end waits in TIME_WAIT (60 s, longer than a VM's whole run).
 * CLOSE_WAIT: the client only shuts down its sending side and keeps its socket
 * (FIN_WAIT2, with no orphan timeout); the server never closes. Both listeners
 * stay open: a socket's service port is the one something listens on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKS 1000
#define TCP_TIME_WAIT 6
#define TCP_CLOSE_WAIT 8

static int fail(const char *what)
{
	fprintf(stderr, "sockhold: %s: %s\n", what, strerror(errno));
	return -1;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int listen_on(int port)
{
	struct sockaddr_in a = loopback(port);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, MAX_SOCKS))
		return fail("listen");
	return fd;
}

/* one connection to port: the client's and the server's ends */
static int pair(int lfd, int port, int *client, int *server)
{
	struct sockaddr_in a = loopback(port);

	*client = socket(AF_INET, SOCK_STREAM, 0);
	if (*client < 0 || connect(*client, (struct sockaddr *)&a, sizeof(a)))
		return fail("connect");
	*server = accept(lfd, NULL, NULL);
	return *server < 0 ? fail("accept") : 0;
}

static int make_time_wait(int lfd, int port)
{
	int c, s;
	char b;

	if (pair(lfd, port, &c, &s))
		return -1;
	close(c);
	if (read(s, &b, 1) != 0)
		return fail("read EOF");
	close(s);
	return 0;
}

static int make_close_wait(int lfd, int port)
{
	int c, s;

	if (pair(lfd, port, &c, &s))
		return -1;
	return shutdown(c, SHUT_WR) ? fail("shutdown") : 0;
}

/* sockets in state on port (either end), as /proc/net/tcp lists them */
static int count(int state, int port)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	unsigned int lport, rport, st;
	char line[256];
	int n = 0;

	if (!f)
		return fail("/proc/net/tcp");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %*d: %*x:%x %*x:%x %x", &lport, &rport, &st) == 3 &&
		    (int)st == state && ((int)lport == port || (int)rport == port))
			n++;
	fclose(f);
	return n;
}

static int wait_counts(int tw_port, int n, int cw_port, int m)
{
	struct timespec tick = { 0, 10000000 };

	for (int i = 0; i < 1000; i++) {
		if (count(TCP_TIME_WAIT, tw_port) == n && count(TCP_CLOSE_WAIT, cw_port) == m)
			return 0;
		nanosleep(&tick, NULL);
	}
	fprintf(stderr, "sockhold: after 10 s, %d TIME_WAIT on %d and %d CLOSE_WAIT on %d\n",
		count(TCP_TIME_WAIT, tw_port), tw_port, count(TCP_CLOSE_WAIT, cw_port), cw_port);
	return -1;
}

int main(int argc, char **argv)
{
	int tw_port, n, cw_port, m, tw_lfd, cw_lfd;

	if (argc != 5) {
		fprintf(stderr, "usage: sockhold TW_PORT N CW_PORT M\n");
		return 2;
	}
	tw_port = atoi(argv[1]);
	n = atoi(argv[2]);
	cw_port = atoi(argv[3]);
	m = atoi(argv[4]);
	if (n < 0 || m < 0 || n > MAX_SOCKS || m > MAX_SOCKS) {
		fprintf(stderr, "sockhold: N and M go from 0 to %d\n", MAX_SOCKS);
		return 2;
	}
	tw_lfd = listen_on(tw_port);
	cw_lfd = listen_on(cw_port);
	if (tw_lfd < 0 || cw_lfd < 0)
		return 1;
	for (int i = 0; i < n; i++)
		if (make_time_wait(tw_lfd, tw_port))
			return 1;
	for (int i = 0; i < m; i++)
		if (make_close_wait(cw_lfd, cw_port))
			return 1;
	if (wait_counts(tw_port, n, cw_port, m))
		return 1;
	printf("ready\n");
	fflush(stdout);
	pause();
	return 0;
}
