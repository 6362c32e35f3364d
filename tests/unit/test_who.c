// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Workload selectors and the names kept beside a recording. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>
#include "who.h"
#include "wholog.h"

static struct sf_workload pod(const char *ns, const char *name, const char *ctr)
{
	struct sf_workload w;

	memset(&w, 0, sizeof(w));
	snprintf(w.ns, sizeof(w.ns), "%s", ns);
	snprintf(w.pod, sizeof(w.pod), "%s", name);
	snprintf(w.container, sizeof(w.container), "%s", ctr);
	snprintf(w.container_id, sizeof(w.container_id), "%s",
		 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	return w;
}

static void test_select(void **state)
{
	struct sf_workload w = pod("shop", "web-1", "nginx");
	struct sf_who_select s = { 0 };
	char err[256];

	(void)state;
	assert_true(sf_who_match(&s, NULL));
	assert_int_equal(sf_who_select_parse(&s, "pod=web-1", err, sizeof(err)), 0);
	assert_true(sf_who_match(&s, &w));
	assert_false(sf_who_match(&s, NULL));
	assert_int_equal(sf_who_select_parse(&s, "pod=web-2", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "given twice"));
	memset(&s, 0, sizeof(s));
	assert_int_equal(sf_who_select_parse(&s, "pod=shop/web-1", err, sizeof(err)), 0);
	assert_true(sf_who_match(&s, &w));
	memset(&s, 0, sizeof(s));
	assert_int_equal(sf_who_select_parse(&s, "pod=db/web-1", err, sizeof(err)), 0);
	assert_false(sf_who_match(&s, &w));
	memset(&s, 0, sizeof(s));
	assert_int_equal(sf_who_select_parse(&s, "container=0123456789ab", err, sizeof(err)), 0);
	assert_true(sf_who_match(&s, &w));
	assert_int_equal(sf_who_select_parse(&s, "namespace=db", err, sizeof(err)), 0);
	assert_false(sf_who_match(&s, &w));
	assert_int_equal(sf_who_select_parse(&s, "port=80", err, sizeof(err)), -ENOENT);
	assert_int_equal(sf_who_select_parse(&s, "unit=a b", err, sizeof(err)), -EINVAL);
	assert_int_equal(sf_who_select_parse(&s, "unit=", err, sizeof(err)), -EINVAL);
}

/* What a live run wrote reads back as it was, at the times it held. */
static void test_wholog(void **state)
{
	struct sf_workload a = pod("shop", "web-1", "ng\tinx\\"), b = pod("shop", "web-1", "new");
	char text[3 * SF_WHOLOG_LINE_MAX], err[128], *exact;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct wholog *l = NULL;
	size_t n;

	(void)state;
	n = strlen(strcpy(text, SF_WHOLOG_MAGIC));
	n += wholog_line(text + n, sizeof(text) - n, 42, 7, 100, &a);
	n += wholog_line(text + n, sizeof(text) - n, 42, 7, 200, &b);
	assert_int_equal(wholog__parse(&l, text, n, err, sizeof(err)), 0);
	assert_string_equal(wholog__at(l, 42, 7, 50)->container, "ng\tinx\\");
	assert_string_equal(wholog__at(l, 42, 7, 150)->container, "ng\tinx\\");
	assert_string_equal(wholog__at(l, 42, 7, 200)->container, "new");
	assert_string_equal(wholog__at(l, 42, 8, 200)->pod, "");
	wholog__free(l);
	/* a last line cut short by a killed run is left out */
	assert_int_equal(wholog__parse(&l, text, n - 3, err, sizeof(err)), 0);
	assert_string_equal(wholog__at(l, 42, 7, 200)->container, "ng\tinx\\");
	wholog__free(l);
	/* exactly its bytes, as a file is read, and a page no one may read right after them */
	exact = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(exact != MAP_FAILED && n < page);
	assert_int_equal(mprotect(exact + page, page, PROT_NONE), 0);
	memcpy(exact + page - n, text, n);
	assert_int_equal(wholog__parse(&l, exact + page - n, n, err, sizeof(err)), 0);
	assert_string_equal(wholog__at(l, 42, 7, 200)->container, "new");
	wholog__free(l);
	munmap(exact, 2 * page);
	text[strlen(SF_WHOLOG_MAGIC)] = 'x';
	assert_int_equal(wholog__parse(&l, text, n, err, sizeof(err)), -EINVAL);
	assert_int_equal(wholog__parse(&l, "junk", 4, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_wholog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
