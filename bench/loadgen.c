// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Loopback connection churn for synfin's benchmarks: opens and closes TCP
 * connections as fast as the machine allows (or holds N open). Run it in a
 * private network namespace; it only ever talks to 127.0.0.0/8.
 *
 *   loadgen [--duration S] [--conns N] [--close client|server] [--threads N]
 *           [--port P] [--addrs K] [--hold N]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct {
	double duration;
	unsigned long conns;
	bool server_first;
	int threads;
	int port;
	int addrs;
	unsigned long hold;
} opt = { 5, 0, false, 2, 7000, 16, 0 };

static atomic_ulong done;
static atomic_bool stop;
/* with --conns: when the last connection closed (the main loop wakes up to 10 ms later) */
static double done_at;
static int lfd;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *server(void *arg)
{
	char buf[64];

	(void)arg;
	while (!atomic_load(&stop)) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		/* client-first: wait for its FIN; server-first: close at once */
		if (!opt.server_first)
			while (read(fd, buf, sizeof(buf)) > 0)
				;
		close(fd);
	}
	return NULL;
}

static int connect_one(unsigned long i)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(opt.port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -errno;
	/* spread over 127.0.0.1..K so TIME_WAIT does not exhaust one 4-tuple space */
	a.sin_addr.s_addr = htonl(0x7f000001 + (uint32_t)(i % opt.addrs));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static void *client(void *arg)
{
	unsigned long i = (unsigned long)arg;
	char buf[64];

	while (!atomic_load(&stop)) {
		int fd = connect_one(i++);

		if (fd < 0) {
			if (fd == -EADDRNOTAVAIL || fd == -EAGAIN)
				usleep(1000);
			continue;
		}
		if (opt.server_first)
			while (read(fd, buf, sizeof(buf)) > 0)
				;
		close(fd);
		if (opt.conns && atomic_fetch_add(&done, 1) + 1 == opt.conns) {
			done_at = now_s();
			atomic_store(&stop, true);
		} else if (!opt.conns)
			atomic_fetch_add(&done, 1);
	}
	return NULL;
}

/* One worker's share: both ends of n connections, two descriptors each. */
static int hold_some(unsigned long first, unsigned long n)
{
	for (unsigned long i = first; i < first + n; i++) {
		int fd = connect_one(i);

		if (fd < 0 || accept(lfd, NULL, NULL) < 0) {
			fprintf(stderr, "loadgen: connect %lu: %s\n", i,
				strerror(fd < 0 ? -fd : errno));
			return 1;
		}
	}
	return 0;
}

/*
 * Holds opt.hold connections open until stdin closes. Descriptors are spread
 * over worker processes, each within the RLIMIT_NOFILE it may have.
 */
static int hold(void)
{
	struct rlimit rl;
	unsigned long per, started = 0;
	int ready[2];
	char c;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	per = rl.rlim_cur > 100 ? (rl.rlim_cur - 64) / 2 : 1;
	if (pipe(ready))
		return 1;
	while (started < opt.hold) {
		unsigned long n = opt.hold - started < per ? opt.hold - started : per;
		pid_t pid = fork();

		if (pid < 0) {
			fprintf(stderr, "loadgen: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid == 0) {
			close(ready[0]);
			if (hold_some(started, n))
				_exit(1);
			if (write(ready[1], "r", 1) != 1)
				_exit(1);
			/* until the parent goes */
			while (read(STDIN_FILENO, &c, 1) > 0)
				;
			_exit(0);
		}
		started += n;
	}
	close(ready[1]);
	for (unsigned long done_workers = 0; read(ready[0], &c, 1) == 1;)
		if (++done_workers * per >= opt.hold)
			break;
	printf("held %lu\n", opt.hold);
	fflush(stdout);
	/* the workers share our stdin: they go when it closes, as we do */
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	while (wait(NULL) > 0)
		;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "conns", required_argument, NULL, 'n' },
		{ "close", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "addrs", required_argument, NULL, 'a' },
		{ "hold", required_argument, NULL, 'H' },
		{},
	};
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	pthread_t th[64];
	double start, secs;
	int c, one = 1, n = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			opt.duration = atof(optarg);
			break;
		case 'n':
			opt.conns = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			opt.server_first = !strcmp(optarg, "server");
			break;
		case 't':
			opt.threads = atoi(optarg);
			break;
		case 'p':
			opt.port = atoi(optarg);
			break;
		case 'a':
			opt.addrs = atoi(optarg);
			break;
		case 'H':
			opt.hold = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: loadgen [--duration S] [--conns N] "
					"[--close client|server] [--threads N] [--port P] "
					"[--addrs K] [--hold N]\n");
			return 2;
		}
	}
	if (opt.threads < 1 || opt.threads > 32 || opt.addrs < 1 || opt.addrs > 250) {
		fprintf(stderr, "loadgen: --threads 1..32, --addrs 1..250\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	a.sin_port = htons(opt.port);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4096)) {
		fprintf(stderr, "loadgen: listen on %d: %s\n", opt.port, strerror(errno));
		return 1;
	}
	if (opt.hold)
		return hold();
	/* before the threads: with --conns, they may be done before the last starts */
	start = now_s();
	for (int i = 0; i < opt.threads; i++) {
		pthread_create(&th[n++], NULL, server, NULL);
		pthread_create(&th[n++], NULL, client, (void *)(unsigned long)(i * 1000003));
	}
	while (!atomic_load(&stop)) {
		usleep(10000);
		if (!opt.conns && now_s() - start >= opt.duration)
			atomic_store(&stop, true);
	}
	/* done_at was written before stop was set */
	secs = (done_at ? done_at : now_s()) - start;
	/* wake the servers blocked in accept() */
	shutdown(lfd, SHUT_RDWR);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("conns=%lu seconds=%.3f rate=%.1f\n", atomic_load(&done), secs,
	       atomic_load(&done) / secs);
	return 0;
}
