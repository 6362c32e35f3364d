// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fdio.h"
#include "webconfig.h"

#ifdef SF_NO_METRICS
/* The static build has no metrics endpoint, so nothing to configure. */
int web_config__load(struct web_config *wc, const char *path, char *err, size_t errlen)
{
	(void)wc;
	snprintf(err, errlen, "--web-config %s: this static build has no metrics endpoint", path);
	return -ENOTSUP;
}

bool web_config__allows(struct web_config *wc, const char *user, const char *password)
{
	(void)wc;
	(void)user;
	(void)password;
	return false;
}

void web_config__free(struct web_config *wc)
{
	(void)wc;
}
#else
#include <crypt.h>
#include <yaml.h>

#define CONFIG_MAX (64 * 1024)
#define PEM_MAX (1024 * 1024)
#define BCRYPT_LEN 60

/* For an unknown user, so that the answer takes as long as for a known one. */
static const char dummy_hash[] = "$2b$10$AXt53a0X3PoZ7Xw5BcEjZOSZtAERWOqI3sjQNT0XeouyA1dZCwRF.";

struct loader {
	yaml_document_t doc;
	const char *path; /* the configuration file */
	char *err;
	size_t errlen;
};

static int fail(struct loader *l, const yaml_node_t *at, const char *fmt, const char *what)
{
	int n = snprintf(l->err, l->errlen, "--web-config %s", l->path);

	if (at && n >= 0 && (size_t)n < l->errlen)
		n += snprintf(l->err + n, l->errlen - n, ":%zu", at->start_mark.line + 1);
	if (n >= 0 && (size_t)n < l->errlen)
		n += snprintf(l->err + n, l->errlen - n, ": ");
	if (n >= 0 && (size_t)n < l->errlen)
		snprintf(l->err + n, l->errlen - n, fmt, what);
	return -EINVAL;
}

/* A scalar's text, or NULL after the error. */
static const char *scalar(struct loader *l, const yaml_node_t *node, const char *what)
{
	if (node && node->type == YAML_SCALAR_NODE &&
	    strlen((char *)node->data.scalar.value) == node->data.scalar.length)
		return (const char *)node->data.scalar.value;
	fail(l, node, "%s must be a string", what);
	return NULL;
}

/* name, or FILE's folder joined to it, read whole. */
static int read_pem(struct loader *l, const yaml_node_t *node, const char *key, char **out)
{
	const char *name = scalar(l, node, key), *slash = strrchr(l->path, '/');
	char path[4096], why[600];
	size_t len;

	if (!name)
		return -EINVAL;
	if (name[0] == '/' || !slash)
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - l->path), l->path, name);
	free(*out);
	*out = sf_read_input(path, PEM_MAX, &len, why, sizeof(why));
	return *out ? 0 : fail(l, node, "%s", why);
}

static int load_tls(struct loader *l, struct web_config *wc, const yaml_node_t *map)
{
	int ret = 0;

	if (map->type != YAML_MAPPING_NODE)
		return fail(l, map, "%s must be a mapping", "tls_server_config");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     !ret && p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&l->doc, p->value);
		const char *key = scalar(l, k, "a key");

		if (!key)
			ret = -EINVAL;
		else if (!strcmp(key, "cert_file"))
			ret = read_pem(l, v, key, &wc->cert_pem);
		else if (!strcmp(key, "key_file"))
			ret = read_pem(l, v, key, &wc->key_pem);
		else
			ret = fail(l, k,
				   "tls_server_config: %s is not supported (cert_file, key_file)",
				   key);
	}
	if (!ret && (!wc->cert_pem || !wc->key_pem))
		ret = fail(l, map, "tls_server_config needs %s",
			   wc->cert_pem ? "key_file" : "cert_file");
	return ret;
}

static int add_user(struct loader *l, struct web_config *wc, const yaml_node_t *k,
		    const yaml_node_t *v)
{
	const char *name = scalar(l, k, "a user name"), *hash = name ? scalar(l, v, name) : NULL;
	struct web_user *u;

	if (!hash)
		return -EINVAL;
	if (strlen(hash) != BCRYPT_LEN ||
	    (strncmp(hash, "$2a$", 4) && strncmp(hash, "$2b$", 4) && strncmp(hash, "$2y$", 4)))
		return fail(l, v,
			    "the password of %s is not a bcrypt hash ($2y$..., 60 characters)",
			    name);
	u = realloc(wc->users, (wc->nusers + 1) * sizeof(*u));
	if (!u)
		return fail(l, v, "%s", "out of memory");
	wc->users = u;
	u += wc->nusers;
	memset(u, 0, sizeof(*u));
	u->name = strdup(name);
	u->hash = strdup(hash);
	wc->nusers++;
	return u->name && u->hash ? 0 : fail(l, v, "%s", "out of memory");
}

static int load_users(struct loader *l, struct web_config *wc, const yaml_node_t *map)
{
	int ret = 0;

	if (map->type != YAML_MAPPING_NODE)
		return fail(l, map, "%s must be a mapping of user: bcrypt hash",
			    "basic_auth_users");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     !ret && p < map->data.mapping.pairs.top; p++)
		ret = add_user(l, wc, yaml_document_get_node(&l->doc, p->key),
			       yaml_document_get_node(&l->doc, p->value));
	return ret;
}

/* The document's top: tls_server_config and basic_auth_users, nothing else. */
static int load_root(struct loader *l, struct web_config *wc)
{
	yaml_node_t *root = yaml_document_get_root_node(&l->doc);
	int ret = 0;

	if (!root)
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return fail(l, root, "%s", "not a mapping (tls_server_config, basic_auth_users)");
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     !ret && p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&l->doc, p->value);
		const char *key = scalar(l, k, "a key");

		if (!key)
			ret = -EINVAL;
		else if (!strcmp(key, "tls_server_config"))
			ret = load_tls(l, wc, v);
		else if (!strcmp(key, "basic_auth_users"))
			ret = load_users(l, wc, v);
		else
			ret = fail(l, k,
				   "%s is not supported (tls_server_config, basic_auth_users)",
				   key);
	}
	return ret;
}

int web_config__load(struct web_config *wc, const char *path, char *err, size_t errlen)
{
	struct loader l = { .path = path, .err = err, .errlen = errlen };
	char why[600], *text;
	yaml_parser_t parser;
	size_t len;
	int ret;

	memset(wc, 0, sizeof(*wc));
	pthread_mutex_init(&wc->lock, NULL);
	text = sf_read_input(path, CONFIG_MAX, &len, why, sizeof(why));
	if (!text) {
		snprintf(err, errlen, "--web-config %s", why);
		return -EINVAL;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &l.doc)) {
		snprintf(err, errlen, "--web-config %s:%zu: %s", path, parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "not YAML");
		ret = -EINVAL;
	} else {
		ret = load_root(&l, wc);
		yaml_document_delete(&l.doc);
	}
	yaml_parser_delete(&parser);
	free(text);
	if (ret)
		web_config__free(wc);
	return ret;
}

/* Equal strings, in a time that depends on their lengths only. */
static bool same(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	unsigned char d = n != m;

	for (size_t i = 0; i < n && i < m; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return !d;
}

static bool bcrypt_matches(const char *hash, const char *password)
{
	void *data = NULL;
	int size = 0;
	const char *out = crypt_ra(password, hash, &data, &size);
	bool ok = out && out[0] != '*' && same(out, hash);

	free(data);
	return ok;
}

bool web_config__allows(struct web_config *wc, const char *user, const char *password)
{
	struct web_user *u = NULL;
	bool ok;

	if (!wc->nusers)
		return true;
	if (!user || !password)
		return false;
	for (size_t i = 0; i < wc->nusers && !u; i++)
		if (!strcmp(wc->users[i].name, user))
			u = &wc->users[i];
	pthread_mutex_lock(&wc->lock);
	ok = u && u->verified && same(u->verified, password);
	pthread_mutex_unlock(&wc->lock);
	if (ok)
		return true;
	ok = bcrypt_matches(u ? u->hash : dummy_hash, password) && u;
	if (ok) {
		char *copy = strdup(password);

		pthread_mutex_lock(&wc->lock);
		free(u->verified);
		u->verified = copy;
		pthread_mutex_unlock(&wc->lock);
	}
	return ok;
}

void web_config__free(struct web_config *wc)
{
	for (size_t i = 0; i < wc->nusers; i++) {
		free(wc->users[i].name);
		free(wc->users[i].hash);
		free(wc->users[i].verified);
	}
	free(wc->users);
	free(wc->cert_pem);
	if (wc->key_pem)
		explicit_bzero(wc->key_pem, strlen(wc->key_pem));
	free(wc->key_pem);
	pthread_mutex_destroy(&wc->lock);
	memset(wc, 0, sizeof(*wc));
}
#endif
