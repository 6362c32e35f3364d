/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Runs the kernel skips, recorded by a second program.
 *
 * The kernel runs a tp_btf program at most once per CPU at a time: when a
 * softirq interrupts a run (a close() in process context, say) and fires the
 * same tracepoint, the nested run is skipped and counted as a recursion miss
 * (__bpf_trace_run(), prog->active). So every tp_btf program has a twin,
 * attached after it, that records what the first one did not:
 *
 * - the first program notes the invocation in its CPU's slot for the stack
 *   it runs on (its task's, or the CPU's interrupt stack) before anything else;
 * - the twin finds it in one of the slots, or else the first program was
 *   skipped, and the twin records the event itself.
 *
 * The tracepoint calls its programs one after the other, so the two are never
 * both running on a CPU. A skipped run is a softirq's, on the interrupt stack,
 * its first program busy in the task it interrupted, whose slot it leaves
 * alone; runs on one stack of one CPU come one after the other (a softirq does
 * not interrupt a softirq, and no hardirq changes a TCP state). An invocation
 * is named by its argument array, which the kernel builds in the frame that
 * calls every program of the tracepoint in turn (the same address for both
 * programs), and by its first two arguments: two invocations one after the
 * other on one stack may share the address, never all three.
 */
#ifndef SYNFIN_RESCUE_BPF_H
#define SYNFIN_RESCUE_BPF_H

#include "tracer.h"

/*
 * Where a run is: on its task's stack (a system call, a kernel thread, ksoftirqd)
 * or on the CPU's interrupt stack (a softirq run when an interrupt ends).
 * Only the second can interrupt a run of the first on the same CPU.
 */
enum run_ctx { RUN_TASK, RUN_IRQ, RUN_CTXS };

struct run_id {
	__u64 ctx;
	__u64 arg0;
	__u64 arg1;
};

struct run_slots {
	struct run_id at[RUN_CTXS];
	/* the first program has noted a run since rescue_on: the twin may trust the slots */
	__u32 armed;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct run_slots);
} runs SEC(".maps");

/*
 * Set by the loader once the twins are attached, so that no first program
 * notes a run before its twin is there to look. The twin of an invocation
 * whose first program ran before that trusts it (armed is clear).
 */
__u32 rescue_on = 0;

/* Invocations the twins recorded, per tracepoint (enum sf_run), for the missed total. */
__u64 rescued[SF_RUN_N] = {};

/*
 * The size of a task's kernel stack (THREAD_SIZE), set by the loader; a
 * tracepoint's argument array lies on the stack of the code that fired it.
 */
const volatile __u64 task_stack_size = 16384;

static __always_inline int run_ctx(void *ctx)
{
	__u64 stack, end;

	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf))
		stack = (__u64)bpf_get_current_task_btf()->stack;
	else
		stack = (__u64)BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), stack);
	/*
	 * Two comparisons, not one subtraction: verifiers before 6.18 refuse
	 * arithmetic on the context pointer, and the barrier keeps the compiler
	 * from folding the range check back into one.
	 */
	end = stack + task_stack_size;
	barrier_var(end);
	return (__u64)ctx >= stack && (__u64)ctx < end ? RUN_TASK : RUN_IRQ;
}

/* This CPU's slots, once the twins are attached. */
static __always_inline struct run_slots *run_slots(void)
{
	__u32 zero = 0;

	return rescue_on ? bpf_map_lookup_elem(&runs, &zero) : NULL;
}

static __always_inline bool run_is(const struct run_id *r, void *ctx, __u64 arg0, __u64 arg1)
{
	return r->ctx == (__u64)ctx && r->arg0 == arg0 && r->arg1 == arg1;
}

/* The first program: this invocation is being handled. */
static __always_inline void run_note(void *ctx, __u64 arg0, __u64 arg1)
{
	struct run_slots *slots = run_slots();
	struct run_id *r;

	if (!slots)
		return;
	r = &slots->at[run_ctx(ctx)];
	r->ctx = (__u64)ctx;
	r->arg0 = arg0;
	r->arg1 = arg1;
	slots->armed = 1;
}

/*
 * The twin: whether the first program was skipped for this invocation, which
 * the twin then records (counted in rescued[run]). It need not ask which
 * stack it is on: an argument array's address lies on one of them only.
 */
static __always_inline bool run_skipped(void *ctx, enum sf_run run, __u64 arg0, __u64 arg1)
{
	struct run_slots *slots = run_slots();

	if (!slots || !slots->armed)
		return false;
	for (int c = 0; c < RUN_CTXS; c++) {
		if (!run_is(&slots->at[c], ctx, arg0, arg1))
			continue;
		/* a later invocation with the same name must not pass for this one */
		slots->at[c].ctx = 0;
		return false;
	}
	__sync_fetch_and_add(&rescued[run], 1);
	return true;
}

#endif
