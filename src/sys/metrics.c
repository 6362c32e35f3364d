// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "metrics.h"
#include "parse.h"

#ifdef SF_NO_METRICS
/* The static build (make static, for make vmtest) leaves libmicrohttpd out. */
int metrics__start(struct metrics **out, const char *addr, const char *web_config, char *err,
		   size_t errlen)
{
	(void)out;
	(void)web_config;
	snprintf(err, errlen, "--metrics %s: this static build has no metrics endpoint", addr);
	return -ENOTSUP;
}

int metrics__serve(struct metrics *m, char *err, size_t errlen)
{
	(void)m;
	(void)err;
	(void)errlen;
	return 0;
}

int metrics__publish(struct metrics *m, const char *text, size_t len)
{
	(void)m;
	(void)text;
	(void)len;
	return 0;
}

void metrics__stop(struct metrics *m)
{
	(void)m;
}
#else
#include <microhttpd.h>
#include <time.h>
#include "caps.h"
#include "clock.h"
#include "webconfig.h"

/*
 * What a slow or hostile client may hold: a request's headers (and the TLS
 * handshake before them, and the keep-alive wait between requests) must be
 * in within HEADER_NS, whatever trickles meanwhile; one address holds at most
 * PER_CLIENT connections; past SOFT_LIMIT in all, each new one ends the
 * connection that has waited longest for its headers, so a scrape, whose
 * headers come at once, always finds room.
 */
#define HEADER_NS (10 * SF_NS_PER_S)
#define PER_CLIENT 16
#define SOFT_LIMIT 128
#define HARD_LIMIT 512
#define GUARD_POLL_NS (250 * SF_NS_PER_MS)
#define THREADS 4 /* a password checked (bcrypt, ~50 ms) holds up one only */

/* One connection, from accept to close. */
struct conn {
	struct conn *prev, *next;
	int fd;
	uint64_t waiting_since; /* for its request's headers; 0 while one is served */
};

struct metrics {
	struct MHD_Daemon *mhd;
	int fd;
	pthread_mutex_t lock;
	char *text;
	size_t len;
	char addr[128]; /* as given, for errors */
	struct web_config wc;
	bool tls;
	/* the guard: every connection, and the thread that ends the slow ones */
	pthread_mutex_t conns_lock;
	pthread_cond_t wake;
	struct conn conns; /* the list's head */
	size_t nconns;
	pthread_t guard;
	bool guarding, stopping;
};

static uint64_t now_ns(void)
{
	return sf_clock_ns(CLOCK_MONOTONIC);
}

/* Under conns_lock: the connection ends; MHD sees it and closes it. */
static void cut(struct conn *c)
{
	shutdown(c->fd, SHUT_RDWR);
	c->waiting_since = 0;
}

/* Under conns_lock: past SOFT_LIMIT, the connection that has waited longest goes. */
static void evict_oldest(struct metrics *m, const struct conn *keep)
{
	struct conn *oldest = NULL;

	for (struct conn *c = m->conns.next; c != &m->conns; c = c->next)
		if (c != keep && c->waiting_since &&
		    (!oldest || c->waiting_since < oldest->waiting_since))
			oldest = c;
	if (oldest)
		cut(oldest);
}

/* A new connection joins the list; past SOFT_LIMIT, the longest waiting one goes. */
static struct conn *conn_add(struct metrics *m, struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct conn *c = info ? calloc(1, sizeof(*c)) : NULL;

	if (!c)
		return NULL;
	c->fd = info->connect_fd;
	c->waiting_since = now_ns();
	pthread_mutex_lock(&m->conns_lock);
	c->prev = m->conns.prev;
	c->next = &m->conns;
	c->prev->next = c;
	m->conns.prev = c;
	if (++m->nconns > SOFT_LIMIT)
		evict_oldest(m, c);
	pthread_mutex_unlock(&m->conns_lock);
	return c;
}

/*
 * MHD_OPTION_NOTIFY_CONNECTION. MHD tells of a close before it closes the
 * socket: off the list, under conns_lock, its fd is never shut down again, so
 * the number reused by a later connection is safe from us.
 */
static void on_connection(void *cls, struct MHD_Connection *mc, void **ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct metrics *m = cls;
	struct conn *c = *ctx;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		*ctx = conn_add(m, mc);
		return;
	}
	if (!c)
		return;
	pthread_mutex_lock(&m->conns_lock);
	c->prev->next = c->next;
	c->next->prev = c->prev;
	m->nconns--;
	pthread_mutex_unlock(&m->conns_lock);
	free(c);
	*ctx = NULL;
}

/* Marks the connection's wait for headers as begun (at) or over (0). */
static void set_waiting(struct metrics *m, struct MHD_Connection *mc, uint64_t at)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *c = info ? info->socket_context : NULL;

	if (!c)
		return;
	pthread_mutex_lock(&m->conns_lock);
	c->waiting_since = at;
	pthread_mutex_unlock(&m->conns_lock);
}

/* MHD_OPTION_NOTIFY_COMPLETED: a keep-alive connection now waits for its next request. */
static void on_completed(void *cls, struct MHD_Connection *mc, void **state,
			 enum MHD_RequestTerminationCode toe)
{
	(void)state;
	(void)toe;
	set_waiting(cls, mc, now_ns());
}

/* Ends every connection that has waited past HEADER_NS for its headers. */
static void *guard_main(void *arg)
{
	struct metrics *m = arg;
	struct timespec ts;

	pthread_mutex_lock(&m->conns_lock);
	while (!m->stopping) {
		uint64_t now = now_ns();

		for (struct conn *c = m->conns.next; c != &m->conns; c = c->next)
			if (c->waiting_since && now - c->waiting_since > HEADER_NS)
				cut(c);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += GUARD_POLL_NS;
		ts.tv_sec += ts.tv_nsec / SF_NS_PER_S;
		ts.tv_nsec %= SF_NS_PER_S;
		pthread_cond_timedwait(&m->wake, &m->conns_lock, &ts);
	}
	pthread_mutex_unlock(&m->conns_lock);
	return NULL;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned int code, const char *text,
			       size_t len, bool copy)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		len, (void *)text, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	if (code == MHD_HTTP_UNAUTHORIZED)
		ret = MHD_queue_basic_auth_fail_response(conn, "synfin", resp);
	else
		ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static bool authorized(struct metrics *m, struct MHD_Connection *conn)
{
	char *password = NULL, *user;
	bool ok;

	if (!m->wc.nusers)
		return true;
	user = MHD_basic_auth_get_username_password(conn, &password);
	ok = web_config__allows(&m->wc, user, password);
	MHD_free(user);
	MHD_free(password);
	return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	static const char not_found[] = "not found: try /metrics\n";
	static const char unauthorized[] = "unauthorized\n";
	static int headers_in;
	struct metrics *m = cls;
	enum MHD_Result ret;

	(void)version;
	(void)upload;
	(void)upload_size;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return MHD_NO;
	/*
	 * The headers are in. Answering in this first call would make libmicrohttpd
	 * close the connection and drop a pipelined request: answer in the next.
	 */
	if (!*state) {
		*state = &headers_in;
		set_waiting(m, conn, 0);
		return MHD_YES;
	}
	if (!authorized(m, conn))
		return respond(conn, MHD_HTTP_UNAUTHORIZED, unauthorized, sizeof(unauthorized) - 1,
			       false);
	if (strcmp(url, "/metrics"))
		return respond(conn, MHD_HTTP_NOT_FOUND, not_found, sizeof(not_found) - 1, false);
	pthread_mutex_lock(&m->lock);
	ret = respond(conn, MHD_HTTP_OK, m->text ? m->text : "", m->len, true);
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128] = "127.0.0.1";
	const char *colon = strrchr(addr, ':');
	uint8_t family, a[16];
	uint16_t port;

	if (sf_parse_port(colon ? colon + 1 : addr, &port))
		return -EINVAL;
	if (colon && colon != addr) {
		size_t n = colon - addr;

		if (addr[0] == '[' && addr[n - 1] == ']') {
			addr++;
			n -= 2;
		}
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, addr, n);
		host[n] = 0;
	}
	if (sf_parse_addr(host, &family, a))
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a, sizeof(sin->sin_addr));
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, a, sizeof(sin6->sin6_addr));
		*len = sizeof(*sin6);
	}
	return 0;
}

/* Our own listening socket, so that a taken port is reported as such. */
static int listen_on(struct metrics *m, const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;

	if (parse_addr(addr, &ss, &len)) {
		snprintf(err, errlen, "invalid --metrics '%s' (PORT, ADDR:PORT or [ADDR6]:PORT)",
			 addr);
		return -EINVAL;
	}
	m->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->fd, (struct sockaddr *)&ss, len) || listen(m->fd, 64)) {
		snprintf(err, errlen, "cannot serve metrics on %s: %s", addr, strerror(errno));
		return -errno;
	}
	return 0;
}

static int start_daemon(struct metrics *m, const char *addr, char *err, size_t errlen)
{
	struct MHD_OptionItem ops[] = {
		{ MHD_OPTION_LISTEN_SOCKET, m->fd, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, HEADER_NS / SF_NS_PER_S, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, HARD_LIMIT, NULL },
		{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, PER_CLIENT, NULL },
		{ MHD_OPTION_THREAD_POOL_SIZE, THREADS, NULL },
		{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, m },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, m },
		/* without TLS the list ends here */
		{ m->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, m->wc.cert_pem },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, m->wc.key_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | (m->tls ? MHD_USE_TLS : 0);

	m->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, m, MHD_OPTION_ARRAY, ops,
				  MHD_OPTION_END);
	if (!m->mhd) {
		snprintf(err, errlen, "cannot start the metrics server on %s", addr);
		return -EIO;
	}
	return 0;
}

/* The certificate and key, tried at once (no thread, no socket) so a mismatch is a usage error. */
static int check_tls(struct metrics *m, const char *path, char *err, size_t errlen)
{
	struct MHD_Daemon *d;

	if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		snprintf(err, errlen, "--web-config %s: this libmicrohttpd has no TLS", path);
		return -ENOTSUP;
	}
	d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, handle, m,
			     MHD_OPTION_HTTPS_MEM_CERT, m->wc.cert_pem, MHD_OPTION_HTTPS_MEM_KEY,
			     m->wc.key_pem, MHD_OPTION_END);
	if (!d) {
		snprintf(err, errlen,
			 "--web-config %s: the key is not the certificate's, or not PEM", path);
		return -EINVAL;
	}
	MHD_stop_daemon(d);
	return 0;
}

int metrics__start(struct metrics **out, const char *addr, const char *web_config, char *err,
		   size_t errlen)
{
	struct metrics *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	m->fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->conns_lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	m->conns.next = m->conns.prev = &m->conns;
	snprintf(m->addr, sizeof(m->addr), "%s", addr);
	ret = web_config ? web_config__load(&m->wc, web_config, err, errlen) : 0;
	m->tls = m->wc.cert_pem != NULL;
	if (!ret && m->tls)
		ret = check_tls(m, web_config, err, errlen);
	if (!ret)
		ret = listen_on(m, addr, err, errlen);
	if (ret) {
		metrics__stop(m);
		return ret;
	}
	*out = m;
	return 0;
}

struct launch {
	struct metrics *m;
	char *err;
	size_t errlen;
	int ret;
};

/*
 * The thread that creates the serving ones, which inherit its capabilities:
 * it gives up all of its own first, whatever the command keeps for itself.
 */
static void *launch_main(void *arg)
{
	struct launch *l = arg;
	struct metrics *m = l->m;

	l->ret = sf_drop_privileges(0, l->err, l->errlen);
	if (!l->ret) {
		l->ret = -pthread_create(&m->guard, NULL, guard_main, m);
		if (l->ret)
			snprintf(l->err, l->errlen, "cannot start the metrics server: %s",
				 strerror(-l->ret));
	}
	m->guarding = !l->ret;
	if (!l->ret)
		l->ret = start_daemon(m, m->addr, l->err, l->errlen);
	return NULL;
}

int metrics__serve(struct metrics *m, char *err, size_t errlen)
{
	struct launch l = { m, err, errlen, 0 };
	pthread_t t;
	int ret = -pthread_create(&t, NULL, launch_main, &l);

	if (ret) {
		snprintf(err, errlen, "cannot start the metrics server: %s", strerror(-ret));
		return ret;
	}
	pthread_join(t, NULL);
	return l.ret;
}

int metrics__publish(struct metrics *m, const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	pthread_mutex_lock(&m->lock);
	free(m->text);
	m->text = copy;
	m->len = len;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

void metrics__stop(struct metrics *m)
{
	if (!m)
		return;
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	if (m->guarding) {
		pthread_mutex_lock(&m->conns_lock);
		m->stopping = true;
		pthread_cond_signal(&m->wake);
		pthread_mutex_unlock(&m->conns_lock);
		pthread_join(m->guard, NULL);
	}
	if (m->fd >= 0)
		close(m->fd);
	web_config__free(&m->wc);
	pthread_cond_destroy(&m->wake);
	pthread_mutex_destroy(&m->conns_lock);
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m);
}
#endif
