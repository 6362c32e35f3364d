/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The metrics endpoint's --web-config FILE, in the format of the Prometheus
 * exporter toolkit, so that fleets configure synfin as their other exporters:
 *
 *   tls_server_config:
 *     cert_file: server.crt    # PEM; relative paths are from FILE's folder
 *     key_file: server.key
 *   basic_auth_users:
 *     prometheus: $2y$10$...   # bcrypt (htpasswd -nbB, or mkpasswd -m bcrypt)
 *
 * Both parts are optional. Any other key is refused, so that a setting synfin
 * does not apply (client_ca_file, say) is never taken for protection.
 */
#ifndef SYNFIN_WEBCONFIG_H
#define SYNFIN_WEBCONFIG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct web_user {
	char *name;
	char *hash; /* bcrypt, as crypt(3) reads it */
	char *verified; /* the last password that matched: bcrypt costs ~50 ms a try */
};

struct web_config {
	char *cert_pem; /* NULL: no TLS */
	char *key_pem;
	struct web_user *users; /* none: no authentication */
	size_t nusers;
	pthread_mutex_t lock; /* around the users' verified passwords */
};

/* Reads path; on failure returns -errno with one line, naming the file, in err. */
int web_config__load(struct web_config *wc, const char *path, char *err, size_t errlen);
/* True when user and password match a basic_auth_users entry (or there is none). */
bool web_config__allows(struct web_config *wc, const char *user, const char *password);
void web_config__free(struct web_config *wc);

#endif
