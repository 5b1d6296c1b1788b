/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of the kernel's API, in userspace, to compile the module's
 * own ring (kmod/hftmon_ring.c, with kmod/hftmon_internal.h) into the
 * unit tests and the drain benchmark: the tests then drive the code the
 * module runs, not a copy of it (tests/unit/ring_producer.c is the
 * harness). Every <linux/...> header that code includes is a one-line
 * file under tests/unit/kshim/linux/ pointing here; only the headers the
 * uapi file itself needs (<linux/types.h>, <linux/ioctl.h>) and
 * <linux/version.h> come from the system.
 *
 * What stands for what:
 *  - one thread owns a producer, as one CPU owns its ring: IRQ masking
 *    and lockdep's assertion are no-ops;
 *  - smp_load_acquire/smp_store_release and READ_ONCE/WRITE_ONCE are C11
 *    atomics (acquire/release, relaxed) on the same fields, as the
 *    reader's lib/ring.h views them, so ThreadSanitizer checks the pair;
 *  - pages come from an arena the harness sets (kshim_page_arena): the
 *    mapping the reader reads, so vmap() of the pages handed out in a row
 *    is the arena itself; struct page and the other allocations are
 *    malloc'd;
 *  - irq_work runs its function at once; wake_up_interruptible() counts;
 *  - ktime_get_mono_fast_ns() is 0: records get the time the test sets.
 * The tracked-process table, stacks and sessions are declared by
 * hftmon_internal.h but not compiled: their types only need to parse.
 */
#ifndef HFTMON_KSHIM_H
#define HFTMON_KSHIM_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
typedef unsigned int gfp_t;

#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
#define noinline		__attribute__((noinline))
#ifndef __always_inline	/* glibc's <sys/cdefs.h> has one */
#define __always_inline		inline __attribute__((always_inline))
#endif
#define __rcu

#define U16_MAX			0xffffU
#define BIT_ULL(n)		(1ULL << (n))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define min_t(t, a, b)		((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define is_power_of_2(n)	((n) != 0 && (((n) & ((n) - 1)) == 0))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

static inline void *ERR_PTR(long err)
{
	return (void *)(intptr_t)err;
}

static inline long PTR_ERR(const void *p)
{
	return (long)(intptr_t)p;
}

static inline bool IS_ERR(const void *p)
{
	return (uintptr_t)p >= (uintptr_t)-4095;
}

/* ---- memory ordering: C11 atomics on the plain fields ------------------ */

#define KSHIM_ATOMIC(p)		((_Atomic __typeof__(*(p)) *)(p))
#define READ_ONCE(x)		atomic_load_explicit(KSHIM_ATOMIC(&(x)), \
						     memory_order_relaxed)
#define WRITE_ONCE(x, v)	atomic_store_explicit(KSHIM_ATOMIC(&(x)), (v), \
						      memory_order_relaxed)
#define smp_load_acquire(p)	atomic_load_explicit(KSHIM_ATOMIC(p), \
						     memory_order_acquire)
#define smp_store_release(p, v)	atomic_store_explicit(KSHIM_ATOMIC(p), (v), \
						      memory_order_release)
#define smp_mb()		atomic_thread_fence(memory_order_seq_cst)

/* ---- IRQs: one thread per producer ------------------------------------- */

#define local_irq_save(flags)		((flags) = 0)
#define local_irq_restore(flags)	((void)(flags))
#define lockdep_assert_irqs_disabled()	do { } while (0)

/* ---- time, CPUs, locks (types only) ------------------------------------ */

static inline u64 ktime_get_mono_fast_ns(void)
{
	return 0;
}

static inline int cpu_to_node(int cpu)
{
	(void)cpu;
	return 0;
}

typedef struct { int counter; } atomic_t;
typedef struct { int locked; } spinlock_t;
typedef struct { int locked; } raw_spinlock_t;
struct work_struct { void (*func)(struct work_struct *work); };
struct mutex { int locked; };

/* ---- memory ------------------------------------------------------------- */

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define GFP_KERNEL	0x1U
#define __GFP_ZERO	0x2U
#define __GFP_NOWARN	0x4U
#define __GFP_ACCOUNT	0x8U	/* memcg charging: nothing to charge here */
#define GFP_KERNEL_ACCOUNT	(GFP_KERNEL | __GFP_ACCOUNT)
#define VM_MAP		0x4U
#define PAGE_KERNEL	0

struct page {
	void *addr;
};

/* The harness's arena: pages are handed out from it in order. */
extern unsigned char *kshim_page_arena;
extern size_t kshim_page_arena_pages, kshim_page_arena_used;

static inline struct page *alloc_pages_node(int node, gfp_t gfp,
					    unsigned int order)
{
	struct page *p;

	(void)node;
	if (order || !kshim_page_arena ||
	    kshim_page_arena_used >= kshim_page_arena_pages)
		return NULL;
	p = malloc(sizeof(*p));
	if (!p)
		return NULL;
	p->addr = kshim_page_arena + kshim_page_arena_used++ * PAGE_SIZE;
	if (gfp & __GFP_ZERO)
		memset(p->addr, 0, PAGE_SIZE);
	return p;
}

static inline void __free_page(struct page *p)
{
	free(p);
}

/* Pages handed out in a row are contiguous already. */
static inline void *vmap(struct page **pages, unsigned int count,
			 unsigned long flags, int prot)
{
	unsigned int i;

	(void)flags;
	(void)prot;
	for (i = 1; i < count; i++)
		if ((char *)pages[i]->addr !=
		    (char *)pages[0]->addr + i * PAGE_SIZE)
			return NULL;
	return count ? pages[0]->addr : NULL;
}

static inline void vunmap(const void *addr)
{
	(void)addr;
}

static inline void *kvcalloc(size_t n, size_t size, gfp_t gfp)
{
	(void)gfp;
	return calloc(n, size);
}

static inline void kvfree(const void *p)
{
	free((void *)p);
}

struct kmem_cache {
	size_t size;
};

static inline void *kmem_cache_alloc_node(struct kmem_cache *c, gfp_t gfp,
					  int node)
{
	(void)gfp;
	(void)node;
	return calloc(1, c->size);
}

static inline void kmem_cache_free(struct kmem_cache *c, void *p)
{
	(void)c;
	free(p);
}

/* ---- irq_work and wait queues ------------------------------------------ */

struct irq_work {
	void (*func)(struct irq_work *work);
	unsigned long queued;
};

static inline void init_irq_work(struct irq_work *w,
				 void (*func)(struct irq_work *))
{
	w->func = func;
	w->queued = 0;
}

static inline bool irq_work_queue(struct irq_work *w)
{
	w->queued++;
	w->func(w);
	return true;
}

static inline void irq_work_sync(struct irq_work *w)
{
	(void)w;
}

typedef struct {
	unsigned long wakeups;
} wait_queue_head_t;

static inline void wake_up_interruptible(wait_queue_head_t *wq)
{
	atomic_fetch_add_explicit(KSHIM_ATOMIC(&wq->wakeups), 1,
				  memory_order_relaxed);
}

/* ---- lists, hashes, tasks: what hftmon_internal.h's types need ---------- */

struct hlist_node {
	struct hlist_node *next, **pprev;
};

struct hlist_head {
	struct hlist_node *first;
};

struct rcu_head {
	void *next;
};

#define DECLARE_HASHTABLE(name, bits)	struct hlist_head name[1 << (bits)]
#define hash_min(val, bits) \
	((unsigned int)(((__u32)(val) * 0x61C88647U) >> (32 - (bits))))

#define hlist_entry_safe(ptr, type, member) ({			\
	__typeof__(ptr) ____ptr = (ptr);			\
	____ptr ? container_of(____ptr, type, member) : NULL;	\
})
#define hlist_for_each_entry_rcu_notrace(pos, head, member)		\
	for (pos = hlist_entry_safe((head)->first, __typeof__(*(pos)), member); \
	     pos;							\
	     pos = hlist_entry_safe((pos)->member.next, __typeof__(*(pos)), \
				    member))

/* The tracked table's lookup (inline in hftmon_internal.h) reads under RCU. */
#define rcu_dereference_raw_check(p)	READ_ONCE(p)
#define test_bit(nr, addr)	((*(const unsigned long *)(addr) >> (nr)) & 1UL)

enum pid_type { PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID, PIDTYPE_SID,
		PIDTYPE_MAX };

/* Only pointed to by the headers the ring includes. */
struct cred;
struct pid_namespace;
struct mm_struct;

struct pid {
	int nr;
};

struct signal_struct {
	struct pid *pids[PIDTYPE_MAX];
	atomic_t live;
};

struct task_struct {
	pid_t pid, tgid;
	struct signal_struct *signal;
};

#endif /* HFTMON_KSHIM_H */
