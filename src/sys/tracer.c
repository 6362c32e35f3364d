// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/membarrier.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "fdio.h"
#include "loader.h"
#include "rings.h"
#include "tracer.skel.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define DEFAULT_RINGBUF (16u << 20)
/* the least a CPU's ring gets by default, on hosts with more than 16 CPUs */
#define DEFAULT_CPU_RING (1u << 20)
/* how long runs in flight at detach are given where no grace period can be waited for */
#define QUIESCE_FALLBACK_US 20000
#define TRACEFS "/sys/kernel/tracing"
#define DEBUGFS_TRACING "/sys/kernel/debug/tracing"

struct tracer {
	struct tracer_bpf *skel;
	struct rings *rings;
	bool *online; /* the CPUs that have a ring, of span */
	unsigned int span, ncpus;
	tracer_event_fn fn;
	void *ctx;
	enum tracer_attach attach;
};

static bool verbose;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	/* errors reach the user as one line from the caller; libbpf's own log on -v */
	(void)level;
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

int sf_bpf_ready(bool verb, const char *what, char *err, size_t errlen)
{
	verbose = verb;
	libbpf_set_print(print_fn);
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(err, errlen, "kernel has no BTF (/sys/kernel/btf/vmlinux missing)");
		return -ENOTSUP;
	}
	if (!sf_have_bpf_privileges()) {
		snprintf(err, errlen, "%s needs root, or CAP_BPF and CAP_PERFMON", what);
		return -EPERM;
	}
	return 0;
}

bool sf_have_bpf_privileges(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};
	uint64_t eff;

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
	eff = data[0].effective | ((uint64_t)data[1].effective << 32);
	if (eff & (1ULL << CAP_SYS_ADMIN))
		return true;
	return (eff & (1ULL << CAP_BPF)) && (eff & (1ULL << CAP_PERFMON));
}

static bool btf_has_tp(const struct btf *btf, const char *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) > 0;
}

static const char *tracefs_root(void)
{
	if (!access(TRACEFS "/events", F_OK))
		return TRACEFS;
	if (!access(DEBUGFS_TRACING "/events", F_OK))
		return DEBUGFS_TRACING;
	return NULL;
}

static bool tracepoint_exists(const char *root, const char *category, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/events/%s/%s", root, category, name);
	return !access(path, F_OK);
}

static int ensure_tracefs(const char **root, char *err, size_t errlen)
{
	*root = tracefs_root();
	if (*root)
		return 0;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL)) {
		int e = errno;

		snprintf(err, errlen,
			 "tp_btf is unavailable and tracefs is not mounted; mounting it on %s "
			 "failed: %s",
			 TRACEFS, strerror(e));
		return -e;
	}
	*root = TRACEFS;
	return 0;
}

/* Each tracepoint's programs: two flavours, and the tp_btf one's twin (bpf/rescue.bpf.h). */
struct tracepoint_progs {
	struct bpf_program *btf_prog, *rescue_prog, *tp_prog;
	struct bpf_link **rescue_link;
	const char *category, *name;
	bool required;
};

#define TRACEPOINT_PROGS(skel, btf, rescue, tp, cat, tp_name, req)        \
	((struct tracepoint_progs){ .btf_prog = (skel)->progs.btf,        \
				    .rescue_prog = (skel)->progs.rescue,  \
				    .rescue_link = &(skel)->links.rescue, \
				    .tp_prog = (skel)->progs.tp,          \
				    .category = (cat),                    \
				    .name = (tp_name),                    \
				    .required = (req) })

static void tracepoint_progs(struct tracer_bpf *skel, struct tracepoint_progs out[SF_RUN_N])
{
	out[SF_RUN_STATE] = TRACEPOINT_PROGS(skel, btf_state, rescue_state, tp_state, "sock",
					     "inet_sock_set_state", true);
	out[SF_RUN_SEND_RESET] = TRACEPOINT_PROGS(skel, btf_send_reset, rescue_tx_rst,
						  tp_send_reset, "tcp", "tcp_send_reset", false);
	out[SF_RUN_RECEIVE_RESET] = TRACEPOINT_PROGS(skel, btf_receive_reset, rescue_rx_rst,
						     tp_receive_reset, "tcp", "tcp_receive_reset",
						     false);
	out[SF_RUN_RETRANSMIT] = TRACEPOINT_PROGS(skel, btf_retransmit, rescue_retrans,
						  tp_retransmit, "tcp", "tcp_retransmit_skb",
						  false);
	out[SF_RUN_RETRANSMIT_SYNACK] = TRACEPOINT_PROGS(skel, btf_retransmit_synack, rescue_synack,
							 tp_retransmit_synack, "tcp",
							 "tcp_retransmit_synack", false);
}

/*
 * Enable exactly one flavour of each program, and the tp_btf one's twin with
 * it; the twin is attached by hand, after every first program.
 */
static int choose_programs(struct tracer_bpf *skel, enum tracer_attach attach,
			   const struct btf *vmlinux, char *err, size_t errlen)
{
	struct tracepoint_progs progs[SF_RUN_N];
	const char *root = NULL;
	int ret;

	if (attach == TRACER_ATTACH_TRACEPOINT) {
		ret = ensure_tracefs(&root, err, errlen);
		if (ret)
			return ret;
	}
	tracepoint_progs(skel, progs);
	for (int i = 0; i < SF_RUN_N; i++) {
		bool use_btf = attach == TRACER_ATTACH_TP_BTF && btf_has_tp(vmlinux, progs[i].name);
		bool use_tp = attach == TRACER_ATTACH_TRACEPOINT &&
			      tracepoint_exists(root, progs[i].category, progs[i].name);

		if (progs[i].required && !use_btf && !use_tp) {
			snprintf(err, errlen, "kernel has no %s/%s tracepoint", progs[i].category,
				 progs[i].name);
			return -ENOENT;
		}
		bpf_program__set_autoload(progs[i].btf_prog, use_btf);
		bpf_program__set_autoload(progs[i].rescue_prog, use_btf);
		bpf_program__set_autoattach(progs[i].rescue_prog, false);
		bpf_program__set_autoload(progs[i].tp_prog, use_tp);
	}
	return 0;
}

/*
 * Whether tp_btf programs may call bpf_get_socket_cookie() (Linux 5.12): loads
 * the smallest program on inet_sock_set_state that calls it with the socket.
 * libbpf_probe_bpf_helper() cannot tell, as it does not probe tracing programs.
 */
static bool tp_btf_has_cookie_helper(const struct btf *vmlinux)
{
	const struct bpf_insn insns[] = {
		/* r1 = the first argument, the struct sock * */
		{ .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_1 },
		/* the helper takes no NULL: if r1 == 0, skip the call */
		{ .code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = BPF_REG_1, .off = 1 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_socket_cookie },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int id = btf__find_by_name_kind(vmlinux, "btf_trace_inet_sock_set_state", BTF_KIND_TYPEDEF);
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP,
		    .attach_btf_id = id);
	int fd;

	if (id <= 0)
		return false;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), &opts);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * Each online CPU's ring: an equal share of the size asked for, a power of two
 * and at least a page; by default 16 MiB over all CPUs, at least 1 MiB each.
 */
static size_t cpu_ring_size(const struct tracer_opts *o, unsigned int ncpus)
{
	size_t total = o->ringbuf_size ? o->ringbuf_size : DEFAULT_RINGBUF;
	size_t least = o->ringbuf_size ? (size_t)sysconf(_SC_PAGESIZE) : DEFAULT_CPU_RING;
	size_t size = least;

	while (size * 2 <= total / ncpus)
		size *= 2;
	return size;
}

/* The filters and the rings' size, before load. */
static int set_options(struct tracer_bpf *skel, const struct tracer_opts *o, size_t ring_size,
		       unsigned int span, char *err, size_t errlen)
{
	int ret;

	skel->rodata->targ_netns = o->netns;
	skel->rodata->targ_cgroup = o->cgroup_id;
	skel->rodata->targ_family = o->family;
	skel->rodata->targ_port = o->port;
	skel->rodata->targ_lport = o->lport;
	skel->rodata->targ_rport = o->rport;
	/*
	 * Wake the reader when half a ring waits: each wakeup is an interrupt
	 * and a context switch, and the reader's timer drains the rings long
	 * before that at any rate below the peak (docs/performance.md: 74% fewer
	 * context switches than at 256 KiB, nothing lost)
	 */
	skel->rodata->wakeup_bytes = ring_size / 2;
	ret = bpf_map__set_max_entries(skel->maps.events, span);
	if (ret)
		snprintf(err, errlen, "invalid ring buffer size: %s", strerror(-ret));
	return ret;
}

/*
 * THREAD_SIZE, for the twins to tell a task's stack from the interrupt stack
 * (bpf/rescue.bpf.h). x86's IRQ stack has that size, and its struct is in
 * BTF; arm64's stacks are 16 KiB or a page if larger, twice that with KASAN
 * (arch/arm64/include/asm/memory.h).
 */
static uint64_t task_stack_size(const struct btf *vmlinux)
{
	int id = btf__find_by_name_kind(vmlinux, "irq_stack", BTF_KIND_STRUCT);
	long page;
	uint64_t size;

	if (id > 0)
		return (uint64_t)btf__resolve_size(vmlinux, id);
	page = sysconf(_SC_PAGESIZE);
	size = page > 16384 ? (uint64_t)page : 16384;
	if (btf__find_by_name_kind(vmlinux, "kasan_report", BTF_KIND_FUNC) > 0)
		size *= 2;
	return size;
}

/*
 * The twins of the tp_btf programs, each after its first program: a tracepoint
 * calls its programs in the order they were attached, and a twin must look
 * for the note its first program leaves. The first programs leave notes once
 * this is done (rescue_on).
 */
static int attach_rescues(struct tracer_bpf *skel)
{
	struct tracepoint_progs progs[SF_RUN_N];

	tracepoint_progs(skel, progs);
	for (int i = 0; i < SF_RUN_N; i++) {
		if (!bpf_program__autoload(progs[i].rescue_prog))
			continue;
		*progs[i].rescue_link = bpf_program__attach(progs[i].rescue_prog);
		if (!*progs[i].rescue_link)
			return -errno;
	}
	skel->bss->rescue_on = 1;
	return 0;
}

static int load_flavour(struct tracer *t, const struct tracer_opts *o, enum tracer_attach attach,
			const struct btf *vmlinux, char *err, size_t errlen)
{
	size_t ring_size = cpu_ring_size(o, t->ncpus);
	struct tracer_bpf *skel;
	int ret;

	skel = tracer_bpf__open();
	if (!skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		return ret;
	}
	ret = set_options(skel, o, ring_size, t->span, err, errlen);
	if (!ret)
		ret = choose_programs(skel, attach, vmlinux, err, errlen);
	if (ret)
		goto cleanup;
	/* without it, tp_btf reads the cookie if one was assigned, as tracepoint does */
	if (attach == TRACER_ATTACH_TP_BTF) {
		skel->rodata->have_cookie_helper = tp_btf_has_cookie_helper(vmlinux);
		skel->rodata->task_stack_size = task_stack_size(vmlinux);
	}
	ret = tracer_bpf__load(skel);
	if (ret) {
		if (ret == -EPERM)
			snprintf(err, errlen,
				 "the kernel refused to load BPF programs (EPERM): run as root, or "
				 "with CAP_BPF and CAP_PERFMON");
		else
			snprintf(
				err, errlen,
				"cannot load the BPF programs (%s attachment): %s; run with -v for "
				"libbpf's log",
				attach == TRACER_ATTACH_TP_BTF ? "tp_btf" : "tracepoint",
				strerror(-ret));
		goto cleanup;
	}
	/* the rings before the programs run: a CPU without one loses its events */
	ret = rings__new(&t->rings, bpf_map__fd(skel->maps.events), t->online, t->span, ring_size,
			 t->fn, t->ctx);
	if (ret) {
		snprintf(err, errlen, "cannot create the ring buffers (%u x %zu bytes): %s",
			 t->ncpus, ring_size, strerror(-ret));
		goto cleanup;
	}
	ret = tracer_bpf__attach(skel);
	if (!ret)
		ret = attach_rescues(skel);
	if (ret) {
		snprintf(err, errlen, "cannot attach the BPF programs (%s): %s",
			 attach == TRACER_ATTACH_TP_BTF ? "tp_btf" : "tracepoint", strerror(-ret));
		goto cleanup;
	}
	t->skel = skel;
	t->attach = attach;
	return 0;
cleanup:
	rings__free(t->rings);
	t->rings = NULL;
	tracer_bpf__destroy(skel);
	return ret;
}

/* Every event goes through a BPF ring buffer, which came in Linux 5.8. */
static int tracer_supported(char *err, size_t errlen)
{
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) != 0)
		return 0;
	snprintf(err, errlen,
		 "kernel has no BPF ring buffer (BPF_MAP_TYPE_RINGBUF, Linux 5.8 or later)");
	return -ENOTSUP;
}

int tracer__open(struct tracer **out, const struct tracer_opts *o, tracer_event_fn fn, void *ctx,
		 char *err, size_t errlen)
{
	struct btf *vmlinux = NULL;
	struct tracer *t;
	int ret;

	ret = sf_bpf_ready(o->verbose, "tracing", err, errlen);
	if (!ret)
		ret = tracer_supported(err, errlen);
	if (ret)
		return ret;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fn = fn;
	t->ctx = ctx;
	ret = sf_cpus_online(&t->online, &t->span, &t->ncpus);
	if (ret) {
		snprintf(err, errlen,
			 "cannot read the online CPUs (/sys/devices/system/cpu/online): %s",
			 strerror(-ret));
		goto cleanup;
	}
	vmlinux = btf__load_vmlinux_btf();
	if (o->attach == TRACER_ATTACH_TRACEPOINT) {
		ret = load_flavour(t, o, TRACER_ATTACH_TRACEPOINT, vmlinux, err, errlen);
	} else {
		ret = btf_has_tp(vmlinux, "inet_sock_set_state") ?
			      load_flavour(t, o, TRACER_ATTACH_TP_BTF, vmlinux, err, errlen) :
			      -ENOENT;
		if (ret == -ENOENT && o->attach == TRACER_ATTACH_TP_BTF)
			snprintf(err, errlen, "kernel BTF has no inet_sock_set_state tracepoint");
		/* fall back to the classic tracepoint unless tp_btf was asked for */
		else if (ret && ret != -EPERM && o->attach == TRACER_ATTACH_AUTO)
			ret = load_flavour(t, o, TRACER_ATTACH_TRACEPOINT, vmlinux, err, errlen);
	}
	if (ret)
		goto cleanup;
	btf__free(vmlinux);
	*out = t;
	return 0;
cleanup:
	btf__free(vmlinux);
	tracer__close(t);
	return ret;
}

int tracer__poll(struct tracer *t, int timeout_ms)
{
	return rings__poll(t->rings, timeout_ms);
}

int tracer__lost(struct tracer *t, uint64_t *total)
{
	/* the mapped .bss, read without a bpf() call: see lost_seq in bpf/tracer.bpf.c */
	*total = __atomic_load_n(&t->skel->bss->lost_seq, __ATOMIC_RELAXED);
	return 0;
}

/*
 * One program's recursion_misses, from its fdinfo: unlike BPF_OBJ_GET_INFO_BY_FD
 * it needs no bpf() call, which kernels before 6.5 refuse once privileges are
 * dropped if kernel.unprivileged_bpf_disabled is set. Kernels before 5.12
 * print no such line: 0.
 */
static int prog_missed(int prog_fd, uint64_t *missed)
{
	char path[64], buf[1024];
	const char *p;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", prog_fd);
	n = sf_read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	p = strstr(buf, "\nrecursion_misses:");
	*missed = p ? strtoull(p + strlen("\nrecursion_misses:"), NULL, 10) : 0;
	return 0;
}

/*
 * Runs skipped and not recorded: each first program's recursion misses less
 * what its twin recorded instead. The misses are read first: a twin records
 * right after the kernel counts the skip, so by the time the counts below are
 * read, the twins have recorded all the skips read here (a skip counted after
 * that may make the difference too small for a moment, never too large).
 */
int tracer__missed(struct tracer *t, uint64_t *total, uint64_t *silent)
{
	struct tracepoint_progs progs[SF_RUN_N];
	uint64_t missed[SF_RUN_N], rescued;
	struct bpf_program *prog;
	int ret;

	tracepoint_progs(t->skel, progs);
	for (int i = 0; i < SF_RUN_N; i++) {
		/* the flavour not chosen was never loaded: it has no fd */
		prog = bpf_program__fd(progs[i].btf_prog) >= 0 ? progs[i].btf_prog :
								 progs[i].tp_prog;
		missed[i] = 0;
		if (bpf_program__fd(prog) < 0)
			continue;
		ret = prog_missed(bpf_program__fd(prog), &missed[i]);
		if (ret)
			return ret;
	}
	*total = *silent = 0;
	for (int i = 0; i < SF_RUN_N; i++) {
		rescued = __atomic_load_n(&t->skel->bss->rescued[i], __ATOMIC_RELAXED);
		if (missed[i] <= rescued)
			continue;
		*total += missed[i] - rescued;
		if (i != SF_RUN_STATE)
			*silent += missed[i] - rescued;
	}
	return 0;
}

/*
 * Runs already inside a program when it is detached go on to reserve and
 * commit their records: the kernel frees the tracepoint's old list of probes
 * after an RCU grace period and does not wait for them. One grace period here
 * (membarrier's global command is synchronize_rcu(), which waits out the
 * preemption-disabled sections tracepoints run in) lets them finish before
 * the last look at the rings. nohz_full kernels refuse the command.
 */
static void tracer_quiesce(void)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		usleep(QUIESCE_FALLBACK_US);
}

/*
 * The twins first: a twin left alone would take every event for a skipped
 * one and count it as recorded, hiding real misses from the final count.
 */
void tracer__detach(struct tracer *t)
{
	struct tracepoint_progs progs[SF_RUN_N];

	tracepoint_progs(t->skel, progs);
	for (int i = 0; i < SF_RUN_N; i++) {
		bpf_link__destroy(*progs[i].rescue_link);
		*progs[i].rescue_link = NULL;
	}
	tracer_bpf__detach(t->skel);
	tracer_quiesce();
	rings__seal(t->rings);
}

const char *tracer__attach_name(const struct tracer *t)
{
	return t->attach == TRACER_ATTACH_TP_BTF ? "tp_btf" : "tracepoint";
}

void tracer__close(struct tracer *t)
{
	if (!t)
		return;
	rings__free(t->rings);
	tracer_bpf__destroy(t->skel);
	free(t->online);
	free(t);
}
