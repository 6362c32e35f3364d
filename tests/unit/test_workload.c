// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Cgroup paths as systemd, Docker, containerd, CRI-O and the kubelet name them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "workload.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define UID "1b2c3d4e-5f60-4718-293a-4b5c6d7e8f90"
#define UID_ "1b2c3d4e_5f60_4718_293a_4b5c6d7e8f90"
#define HASH "6c1e5d2b3a4f5e6d7c8b9a0f1e2d3c4b"

/* What sf_workload_parse_cgroup found in path: unit, container id, pod uid. */
static void parsed(const char *path, const char *unit, const char *cid, const char *uid)
{
	struct sf_workload w;

	memset(&w, 0x55, sizeof(w));
	sf_workload_parse_cgroup(path, &w);
	assert_string_equal(w.unit, unit);
	assert_string_equal(w.container_id, cid);
	assert_string_equal(w.pod_uid, uid);
	/* names come only from the runtimes' metadata */
	assert_string_equal(w.ns, "");
	assert_string_equal(w.pod, "");
	assert_string_equal(w.container, "");
}

static void test_kubelet_systemd_driver(void **state)
{
	(void)state;
	parsed("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	       ".slice/cri-containerd-" ID ".scope",
	       "", ID, UID);
	parsed("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	       ".slice/crio-" ID ".scope",
	       "", ID, UID);
	/* guaranteed pods have no QoS slice */
	parsed("/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope", "", ID,
	       UID);
	/* the pod's own slice (the sandbox's processes sit in their own scope) */
	parsed("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice",
	       "", "", UID);
	/* a static pod's uid is a 32-digit hash */
	parsed("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" HASH
	       ".slice/cri-containerd-" ID ".scope",
	       "", ID, HASH);
	/* the systemd driver writes '_' for '-': a dashed uid is not its */
	parsed("/kubepods.slice/kubepods-pod" UID ".slice", "", "", "");
	/* a "-pod" slice outside the kubelet's hierarchy */
	parsed("/system.slice/app-pod" UID_ ".slice", "", "", "");
}

static void test_kubelet_cgroupfs_driver(void **state)
{
	(void)state;
	parsed("/kubepods/besteffort/pod" UID "/" ID, "", ID, UID);
	parsed("/kubepods/burstable/pod" UID "/crio-" ID, "", ID, UID);
	parsed("/kubepods/pod" UID "/" ID, "", ID, UID);
	parsed("/kubepods/besteffort/pod" HASH "/" ID, "", ID, HASH);
	parsed("/kubepods/besteffort/pod" UID, "", "", UID);
	/* "pod<uid>" means a pod only below kubepods, a bare id only in a pod */
	parsed("/other/pod" UID "/" ID, "", "", "");
	parsed("/kubepods/besteffort/" ID, "", "", "");
	parsed("/kubepods/besteffort/pod" UID_ "/" ID, "", "", "");
}

static void test_nested(void **state)
{
	(void)state;
	/* kind: a pod inside a node container; the node's id is not the pod's */
	parsed("/system.slice/docker-" ID ".scope/kubelet.slice/kubelet-kubepods.slice/"
	       "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" UID_
	       ".slice/cri-containerd-" ID2 ".scope",
	       "", ID2, UID);
	parsed("/system.slice/docker-" ID ".scope/kubelet.slice/kubelet-kubepods.slice/"
	       "kubelet-kubepods-pod" UID_ ".slice",
	       "", "", UID);
	/* systemd inside a container: the unit is the container's */
	parsed("/docker/" ID "/system.slice/nginx.service", "nginx.service", ID, "");
	/* rootless Docker: the container below the user's manager is not that unit */
	parsed("/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" ID ".scope", "",
	       ID, "");
	/* a bare id elsewhere is no container */
	parsed("/system.slice/containerd.service/" ID, "containerd.service", "", "");
}

static void test_docker(void **state)
{
	(void)state;
	parsed("/system.slice/docker-" ID ".scope", "", ID, "");
	parsed("/docker/" ID, "", ID, "");
	/* not a container id: too short, upper case, not after "docker" */
	parsed("/docker/" ID "0", "", "", "");
	parsed("/system.slice/docker-0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
	       ".scope",
	       "docker-0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.scope", "",
	       "");
	parsed("/dockerd/" ID, "", "", "");
}

static void test_containerd_crio(void **state)
{
	(void)state;
	parsed("/system.slice/cri-containerd-" ID ".scope", "", ID, "");
	parsed("/system.slice/crio-" ID ".scope", "", ID, "");
	parsed("/crio-" ID, "", ID, "");
	/* conmon watches the container from its own unit */
	parsed("/system.slice/crio-conmon-" ID ".scope", "crio-conmon-" ID ".scope", "", "");
	parsed("/system.slice/containerd-" ID ".scope", "containerd-" ID ".scope", "", "");
}

static void test_systemd_units(void **state)
{
	(void)state;
	parsed("/system.slice/nginx.service", "nginx.service", "", "");
	parsed("system.slice/nginx.service", "nginx.service", "", "");
	parsed("/system.slice/system-getty.slice/getty@tty1.service", "getty@tty1.service", "", "");
	parsed("/user.slice/user-1000.slice/user@1000.service/app.slice/app-web.slice/web.service",
	       "web.service", "", "");
	parsed("/user.slice/user-1000.slice/user@1000.service", "user@1000.service", "", "");
	parsed("/user.slice/user-0.slice/session-3.scope", "session-3.scope", "", "");
	parsed("/init.scope", "init.scope", "", "");
	parsed("/system.slice/docker.socket", "docker.socket", "", "");
	parsed("/system.slice/boot.mount", "boot.mount", "", "");
	parsed("/system.slice/dev-sda2.swap", "dev-sda2.swap", "", "");
	parsed("/system.slice/nginx.service/worker", "nginx.service", "", "");
	/* a bare suffix names no unit */
	parsed("/system.slice/.service", "", "", "");
}

static void test_host_paths(void **state)
{
	struct sf_workload w;
	char long_path[600];

	(void)state;
	parsed("/", "", "", "");
	parsed("/system.slice", "", "", "");
	parsed("/machine.slice", "", "", "");
	parsed("/synfin-test/x", "", "", "");
	sf_workload_parse_cgroup("/", &w);
	assert_string_equal(w.cgroup, "/");
	sf_workload_parse_cgroup("system.slice/a.service", &w);
	assert_string_equal(w.cgroup, "/system.slice/a.service");
	sf_workload_parse_cgroup("", &w);
	assert_string_equal(w.cgroup, "");
	sf_workload_parse_cgroup(NULL, &w);
	assert_string_equal(w.cgroup, "");
	/* a path that does not fit is not cut into another cgroup's */
	memset(long_path, 'a', sizeof(long_path));
	long_path[0] = '/';
	strcpy(long_path + sizeof(long_path) - 20, "/x/nginx.service");
	sf_workload_parse_cgroup(long_path, &w);
	assert_string_equal(w.cgroup, "");
	assert_string_equal(w.unit, "nginx.service");
}

static const char *label(const struct sf_workload *w)
{
	static char buf[512];

	return sf_workload_label(w, buf, sizeof(buf));
}

static void test_label(void **state)
{
	struct sf_workload w = {};
	char small[8];

	(void)state;
	assert_string_equal(label(&w), "-");
	strcpy(w.cgroup, "/");
	assert_string_equal(label(&w), "host");
	strcpy(w.unit, "nginx.service");
	assert_string_equal(label(&w), "nginx.service");
	strcpy(w.pod_uid, UID);
	assert_string_equal(label(&w), UID);
	strcpy(w.container_id, ID);
	assert_string_equal(label(&w), "0123456789ab");
	strcpy(w.container, "web");
	assert_string_equal(label(&w), "web");
	strcpy(w.pod, "web-1");
	assert_string_equal(label(&w), "web-1");
	strcpy(w.ns, "shop");
	assert_string_equal(label(&w), "shop/web-1");
	assert_string_equal(sf_workload_label(&w, small, sizeof(small)), "shop/we");
}

static void test_pod_dir(void **state)
{
	struct sf_workload w = {};

	(void)state;
	assert_true(sf_workload_parse_pod_dir("shop_web-1_" UID, &w));
	assert_string_equal(w.ns, "shop");
	assert_string_equal(w.pod, "web-1");
	assert_string_equal(w.pod_uid, UID);
	assert_true(sf_workload_parse_pod_dir("kube-system_etcd-node1_" HASH, &w));
	assert_string_equal(w.pod_uid, HASH);
	memset(&w, 0, sizeof(w));
	assert_false(sf_workload_parse_pod_dir("shop_" UID, &w));
	assert_false(sf_workload_parse_pod_dir("_web_" UID, &w));
	assert_false(sf_workload_parse_pod_dir("shop__" UID, &w));
	assert_false(sf_workload_parse_pod_dir("shop_web_notauid", &w));
	assert_false(sf_workload_parse_pod_dir("shop_web_" UID_, &w));
	assert_false(sf_workload_parse_pod_dir("", &w));
	assert_string_equal(w.ns, "");
	assert_string_equal(w.pod, "");
}

static void common(const char *a, const char *b, const char *want)
{
	char acc[64];

	strcpy(acc, a);
	sf_cgroup_common_ancestor(acc, b);
	assert_string_equal(acc, want);
	/* the common ancestor does not depend on the order */
	strcpy(acc, b);
	sf_cgroup_common_ancestor(acc, a);
	assert_string_equal(acc, want);
}

static void test_common_ancestor(void **state)
{
	(void)state;
	common("/a/b", "/a/b", "/a/b");
	common("/a", "/a/b", "/a");
	common("/a/bc", "/a/bd", "/a");
	common("/ab", "/a", "/");
	common("/a/b/c", "/a/bb/c", "/a");
	common("/a", "/b", "/");
	common("/", "/a/b", "/");
	common("/", "/", "/");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubelet_systemd_driver),
		cmocka_unit_test(test_kubelet_cgroupfs_driver),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_docker),
		cmocka_unit_test(test_containerd_crio),
		cmocka_unit_test(test_systemd_units),
		cmocka_unit_test(test_host_paths),
		cmocka_unit_test(test_label),
		cmocka_unit_test(test_pod_dir),
		cmocka_unit_test(test_common_ancestor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
