// SPDX-License-Identifier: GPL-2.0
/*
 * Every mm path that can meet a typed ring page, tried on two rings: a premap buffer in the typed
 * strategy (/dev/premap) and the kernel's own perf ring (typed on a kernel with premap's series, a
 * PFN map on mainline without it, faulted-in pages before 6.14). Run as root in the guest by
 * `driver/vmtest --guest-run` (./test.sh builds it static); docs/typed-pages.md has the table of what
 * each path does and why.
 *
 * Each path must either be refused with a clear errno or leave the ring intact: the same pages mapped
 * (PFNs from /proc/self/pagemap), the same bytes, the control page still writable, each page still of
 * the type (/proc/kpageflags) and, for the driver, still holding only the driver's reference. A path
 * that pins ring pages (GUP succeeding) fails the run; the console scan catches splats. Prints one
 * line per ring and path: `mm-paths: <ring>: <path>: refused (<errno>)` or `...: accepted, intact`.
 *
 *   cc -std=gnu11 -Wall -Wextra -Werror -static -I abi/include driver/tests/mm_paths.c -o mm_paths
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/loop.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "premap_abi.h"

#define PAGE 4096UL
#define DATA_PAGES 8
#define RING_LEN ((1 + DATA_PAGES) * PAGE)
#define KPF_USER_RING_BIT 27
#ifndef __NR_mseal
#define __NR_mseal 462
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE 101
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
/* mm/gup_test.h (CONFIG_GUP_TEST; not a uapi header). */
struct gup_test {
	__u64 get_delta_usec, put_delta_usec, addr, size;
	__u32 nr_pages_per_call, gup_flags, test_flags, which_pages[8];
};
struct pin_longterm_test {
	__u64 addr, size;
	__u32 flags;
};
#define GUP_FAST_BENCHMARK _IOWR('g', 1, struct gup_test)
#define PIN_FAST_BENCHMARK _IOWR('g', 2, struct gup_test)
#define GUP_BASIC_TEST _IOWR('g', 4, struct gup_test)
#define PIN_BASIC_TEST _IOWR('g', 5, struct gup_test)
#define PIN_LONGTERM_TEST_START _IOW('g', 7, struct pin_longterm_test)
#define PIN_LONGTERM_TEST_STOP _IO('g', 8)
#define PIN_LONGTERM_TEST_FLAG_USE_WRITE 1
#define PIN_LONGTERM_TEST_FLAG_USE_FAST 2
#define GUP_TEST_FOLL_WRITE 0x01
/* linux/fs.h's PAGEMAP_SCAN (6.7; the build host's headers may predate it). */
struct pm_scan_arg {
	__u64 size, flags, start, end, walk_end, vec, vec_len, max_pages;
	__u64 category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct page_region {
	__u64 start, end, categories;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PAGE_IS_CATEGORIES 0xffUL /* the PAGE_IS_* categories 6.7 has (WPALLOWED to SOFT_DIRTY) */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#define MPOL_BIND 2
#define MPOL_MF_STRICT (1 << 0)
#define MPOL_MF_MOVE (1 << 1)

struct ring {
	const char *name;
	int fd;
	int perf;
	int typed; /* its pages carry the type (kpageflags), as seen when it was set up */
	char *p;
	uint64_t pfn[1 + DATA_PAGES];
	char snap[RING_LEN];
};

static int failures;

#define FAIL(r, path, ...)                                                                        \
	do {                                                                                      \
		printf("mm-paths: %s: %s: FAIL: ", (r)->name, path);                              \
		printf(__VA_ARGS__);                                                              \
		printf("\n");                                                             \
		failures++;                                                                       \
	} while (0)

static uint64_t proc_u64(const char *path, uint64_t index)
{
	uint64_t v = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (pread(fd, &v, sizeof(v), (off_t)(index * 8)) != sizeof(v))
		v = 0;
	close(fd);
	return v;
}

static uint64_t pfn_at(const void *addr)
{
	uint64_t e = proc_u64("/proc/self/pagemap", (uintptr_t)addr / PAGE);

	return (e >> 63) & 1 ? e & ((1ULL << 55) - 1) : 0;
}

static int write_samples(struct ring *r, int n)
{
	char rec[64] = { 0 };
	struct premap_event_header h = { .type = PREMAP_RECORD_SAMPLE, .misc = 2, .size = 64 };

	for (int i = 0; i < n; i++) {
		memcpy(rec, &h, sizeof(h));
		rec[32] = (char)i;
		if (write(r->fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec))
			return -1;
	}
	return 0;
}

static int open_driver(struct ring *r)
{
	struct premap_create c = { .size = 32, .flags = PREMAP_CREATE_TYPED_PAGES, .data_pages = DATA_PAGES };

	r->name = "premap typed";
	r->fd = open(PREMAP_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (r->fd < 0 || ioctl(r->fd, PREMAP_IOC_CREATE, &c))
		return -1;
	r->p = mmap(NULL, RING_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->p == MAP_FAILED)
		return -1;
	return write_samples(r, 20);
}

static int open_perf(struct ring *r)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE, .size = sizeof(a), .config = PERF_COUNT_SW_PAGE_FAULTS,
		.sample_period = 1, .sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID, .disabled = 1,
	};
	char *scratch;

	r->name = "perf ring";
	r->perf = 1;
	r->fd = (int)syscall(__NR_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (r->fd < 0)
		return -1;
	r->p = mmap(NULL, RING_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->p == MAP_FAILED)
		return -1;
	/* A few records, then the event stays disabled: nothing writes the ring behind the checks. */
	scratch = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (scratch == MAP_FAILED)
		return -1;
	ioctl(r->fd, PERF_EVENT_IOC_ENABLE, 0);
	for (int i = 0; i < 16; i++)
		scratch[i * PAGE] = 1;
	ioctl(r->fd, PERF_EVENT_IOC_DISABLE, 0);
	munmap(scratch, 16 * PAGE);
	return 0;
}

static void snapshot(struct ring *r)
{
	memcpy(r->snap, r->p, RING_LEN);
	for (unsigned int i = 0; i <= DATA_PAGES; i++)
		r->pfn[i] = pfn_at(r->p + i * PAGE);
	r->typed = r->pfn[1] && ((proc_u64("/proc/kpageflags", r->pfn[1]) >> KPF_USER_RING_BIT) & 1);
}

/* The ring is as the snapshot left it; on failure prints why (naming `path`) and returns 0. */
static int intact(struct ring *r, const char *path)
{
	struct perf_event_mmap_page *pg = (void *)r->p;
	volatile __u64 *tail = &pg->data_tail;

	/* Data pages byte for byte; of the control page, the positions (perf updates times in it). */
	if (memcmp(r->snap + PAGE, r->p + PAGE, DATA_PAGES * PAGE)) {
		FAIL(r, path, "the data pages show other bytes");
		return 0;
	}
	if (pg->data_head != ((struct perf_event_mmap_page *)r->snap)->data_head) {
		FAIL(r, path, "data_head moved");
		return 0;
	}
	*tail = *tail; /* still writable (a SIGBUS or SIGSEGV here ends the run) */
	for (unsigned int i = 0; i <= DATA_PAGES; i++) {
		uint64_t pfn = pfn_at(r->p + i * PAGE);

		if (!r->pfn[i])
			continue; /* a PFN map: pagemap shows a hole */
		if (pfn != r->pfn[i]) {
			FAIL(r, path, "page %u is another page now (pfn %#llx, was %#llx)", i,
			     (unsigned long long)pfn, (unsigned long long)r->pfn[i]);
			return 0;
		}
		if (r->typed && !((proc_u64("/proc/kpageflags", pfn) >> KPF_USER_RING_BIT) & 1)) {
			FAIL(r, path, "page %u lost its type", i);
			return 0;
		}
	}
	if (!r->perf) {
		for (uint32_t i = 0; i <= DATA_PAGES; i++) {
			struct premap_page_info info = { .pgoff = i };

			if (ioctl(r->fd, PREMAP_IOC_PAGE_INFO, &info) || info.refcount != 1) {
				FAIL(r, path, "page %u has refcount %d, not the driver's 1", i, info.refcount);
				return 0;
			}
		}
	}
	return 1;
}

/* Reports a path: `rc` < 0 with errno `err` set is a refusal (-`err`: the signal that stopped it;
 * 0: GUP took no page); a path that must refuse (pins) fails if not. */
static void report(struct ring *r, const char *path, long rc, int err, int must_refuse)
{
	if (!intact(r, path))
		return;
	if (rc < 0 && err < 0)
		printf("mm-paths: %s: %s: refused (SIG%s)\n", r->name, path, sigabbrev_np(-err));
	else if (rc < 0)
		printf("mm-paths: %s: %s: refused (%s)\n", r->name, path,
		       err ? strerrorname_np(err) : "no page taken");
	else if (must_refuse)
		FAIL(r, path, "accepted (%ld): it pins ring pages", rc);
	else
		printf("mm-paths: %s: %s: accepted, intact\n", r->name, path);
}

#define TRY(r, path, must_refuse, expr)                                                           \
	do {                                                                                      \
		errno = 0;                                                                        \
		long rc_ = (long)(expr);                                                          \
		report(r, path, rc_, errno, must_refuse);                                         \
	} while (0)

static long write_sysfs(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	long n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n < 0 ? -1 : n;
}

static int soft_dirty(const void *addr)
{
	return (proc_u64("/proc/self/pagemap", (uintptr_t)addr / PAGE) >> 55) & 1;
}

/* Soft-dirty tracking of the control page: clear_refs 4 clears the bit and write-protects the
 * entry; the write fault that follows must mark it soft-dirty again, and so must a write that maps
 * the page back after MADV_DONTNEED (the entry is made at fault time, writable, by the ring's own
 * code). Returns 0, or -1 with errno EBADMSG (and a line saying which step) when the bit is lost. */
static long soft_dirty_tracking(struct ring *r)
{
	volatile __u64 *tail = &((struct perf_event_mmap_page *)r->p)->data_tail;
	static const char *const step[] = { "after clear_refs 4", "after a write",
					    "after MADV_DONTNEED and a write" };
	int want[] = { 0, 1, 1 }, got[3];

	if (write_sysfs("/proc/self/clear_refs", "4") < 0)
		return -1;
	got[0] = soft_dirty(r->p);
	*tail = *tail;
	got[1] = soft_dirty(r->p);
	if (write_sysfs("/proc/self/clear_refs", "4") < 0 || madvise(r->p, RING_LEN, MADV_DONTNEED))
		return -1;
	*tail = *tail;
	got[2] = soft_dirty(r->p);
	for (int i = 0; i < 3; i++) {
		if (got[i] != want[i]) {
			printf("mm-paths: %s: soft-dirty: the control page is %s %s\n", r->name,
			       got[i] ? "soft-dirty" : "not soft-dirty", step[i]);
			errno = EBADMSG;
			return -1;
		}
	}
	return 0;
}

static long read_all(const char *path)
{
	char buf[4096];
	long total = 0, n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return n < 0 ? -1 : total;
}

/* A loop device over a tmpfs file: O_DIRECT on a block device pins user pages (tmpfs never does). */
static int loop_device(void)
{
	char path[32];
	int ctl, nr, file, dev;

	file = open("/tmp/mm-paths.img", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (file < 0 || ftruncate(file, 1 << 20))
		return -1;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -1;
	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (nr < 0)
		return -1;
	snprintf(path, sizeof(path), "/dev/loop%d", nr);
	dev = open(path, O_RDWR | O_CLOEXEC);
	if (dev < 0 || ioctl(dev, LOOP_SET_FD, file))
		return -1;
	close(file);
	close(dev);
	return open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
}

static long io_uring_fixed_buffer(long fd, void *addr)
{
	struct iovec iov = { .iov_base = addr, .iov_len = PAGE };
	long rc;
	int err;

	rc = syscall(__NR_io_uring_register, (int)fd, IORING_REGISTER_BUFFERS, &iov, 1);
	err = errno;
	close((int)fd);
	errno = err;
	return rc;
}

static long userfaultfd_register(long fd, struct ring *r)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .range = { (uintptr_t)r->p, RING_LEN },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	long rc;
	int err;

	rc = ioctl((int)fd, UFFDIO_API, &api);
	if (rc) {
		printf("mm-paths: %s: UFFDIO_API failed: %s\n", r->name, strerror(errno));
		failures++;
	} else {
		rc = ioctl((int)fd, UFFDIO_REGISTER, &reg);
	}
	err = errno;
	close((int)fd);
	errno = err;
	return rc;
}

/*
 * The kernel's own GUP entry points on one ring page, through /sys/kernel/debug/gup_test: a benchmark
 * ioctl (`cmd`) says in .size how much it took (0: refused; GUP's errno stays inside, so -1 with errno
 * 0 here), PIN_LONGTERM_TEST_START (cmd 0) returns GUP's errno. A page taken is released at once by the
 * test device; taking it at all fails the run.
 */
static long gup_test(int dev, unsigned long cmd, void *addr, int write)
{
	long rc;

	if (!cmd) {
		struct pin_longterm_test pin = { .addr = (uintptr_t)addr, .size = PAGE,
						 .flags = PIN_LONGTERM_TEST_FLAG_USE_FAST |
							  (write ? PIN_LONGTERM_TEST_FLAG_USE_WRITE : 0) };

		rc = ioctl(dev, PIN_LONGTERM_TEST_START, &pin);
		if (rc == 0)
			ioctl(dev, PIN_LONGTERM_TEST_STOP);
		return rc;
	}
	struct gup_test gup = { .addr = (uintptr_t)addr, .size = PAGE, .nr_pages_per_call = 1,
				.gup_flags = write ? GUP_TEST_FOLL_WRITE : 0 };

	rc = ioctl(dev, cmd, &gup);
	if (rc)
		return rc;
	return gup.size ? (long)(gup.size / PAGE) : (errno = 0, -1);
}

/* One page of this process at `addr` through /proc/self/mem (access_remote_vm(), FOLL_FORCE): read
 * into `buf`, or with `write` written from it. The byte count, or -1 with errno. */
static long proc_mem(void *addr, char *buf, int write)
{
	int m = open("/proc/self/mem", (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	long n;
	int e;

	if (m < 0)
		return -1;
	n = write ? pwrite(m, buf, PAGE, (off_t)(uintptr_t)addr) : pread(m, buf, PAGE, (off_t)(uintptr_t)addr);
	e = errno;
	close(m);
	errno = e;
	return n;
}

static sigjmp_buf probe_jmp;
static volatile sig_atomic_t probe_sig;

static void probe_handler(int sig)
{
	probe_sig = sig;
	siglongjmp(probe_jmp, 1);
}

/* A write of the byte already at `addr`: 0 when it went through, -1 with *sig set when a signal
 * (SIGBUS, SIGSEGV) stopped it. */
static long write_probe(volatile char *addr, int *sig)
{
	struct sigaction sa = { .sa_handler = probe_handler }, old_bus, old_segv;
	long rc = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	probe_sig = 0;
	if (sigsetjmp(probe_jmp, 1) == 0)
		*addr = *addr;
	else
		rc = -1;
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	*sig = probe_sig;
	return rc;
}

static void data_write(struct ring *r, const char *path)
{
	int sig = 0;
	long rc = write_probe(r->p + PAGE, &sig);

	report(r, path, rc, rc < 0 ? -sig : 0, 1);
}

/* A shared futex's key is the page behind the address (GUP); EAGAIN (the value differs) or a
 * timeout means the key was found. */
static long shared_futex_wait(uint32_t *addr)
{
	struct timespec ts = { 0, 1000000 };
	long rc = syscall(__NR_futex, addr, FUTEX_WAIT, ~*addr, &ts, NULL, 0);

	return rc < 0 && (errno == EAGAIN || errno == ETIMEDOUT) ? 0 : rc;
}

/* PAGEMAP_SCAN over the ring (a page-table walker with a category for every page); `flags` may ask
 * it to write-protect what it matches (it skips a VMA without async uffd-wp). The number of regions
 * it reported, or -1. */
static long pagemap_scan(struct ring *r, __u64 flags)
{
	struct page_region regions[1 + DATA_PAGES];
	struct pm_scan_arg arg = { .size = sizeof(arg), .flags = flags, .start = (uintptr_t)r->p,
				   .end = (uintptr_t)r->p + RING_LEN, .vec = (uintptr_t)regions,
				   .vec_len = 1 + DATA_PAGES, .return_mask = PAGE_IS_CATEGORIES };
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	long rc;
	int err;

	if (fd < 0)
		return -1;
	rc = ioctl(fd, PAGEMAP_SCAN, &arg);
	err = errno;
	close(fd);
	errno = err;
	return rc;
}

/*
 * A child's verdict: exit 0 is success, 1-99 the errno it saw (a refusal), 100 and above a broken
 * promise (EPROTO), a signal EIO.
 */
static long child_result(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return errno = EIO, -1;
	if (WEXITSTATUS(status) >= 100)
		return errno = EPROTO, -1;
	return WEXITSTATUS(status) ? (errno = WEXITSTATUS(status), -1) : 0;
}

/* A child attaches to this process and reads a data page with PTRACE_PEEKDATA. */
static long ptrace_peek(struct ring *r)
{
	pid_t parent = getpid(), pid = fork();
	int status;

	if (pid == 0) {
		long word;

		if (ptrace(PTRACE_ATTACH, parent, 0, 0))
			_exit(100);
		waitpid(parent, NULL, __WALL);
		errno = 0;
		word = ptrace(PTRACE_PEEKDATA, parent, r->p + PAGE, 0);
		status = errno;
		ptrace(PTRACE_DETACH, parent, 0, 0);
		if (status)
			_exit(status);
		_exit(word == *(long *)(r->snap + PAGE) ? 0 : 101);
	}
	return child_result(pid);
}

/* In a child: a mapping of its own, sealed; munmap must then fail, and exit still tears it down. */
static long mseal_in_child(struct ring *r)
{
	pid_t pid = fork();

	if (pid == 0) {
		char *p = mmap(NULL, RING_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);

		if (p == MAP_FAILED)
			_exit(100);
		if (syscall(__NR_mseal, p, RING_LEN, 0))
			_exit(errno == ENOSYS || errno == EINVAL ? errno : 101);
		_exit(munmap(p, RING_LEN) == -1 && errno == EPERM ? 0 : 102);
	}
	return child_result(pid);
}

static void paths(struct ring *r)
{
	char path[64], buf[PAGE];
	char *data = r->p + PAGE;
	unsigned long node1 = 2, node0 = 1, nodes = 2;
	int node = 1, status = 0, fd;
	void *addr = data;
	struct iovec local = { .iov_base = buf, .iov_len = PAGE }, remote = { .iov_base = data, .iov_len = PAGE };

	snapshot(r);
	printf("mm-paths: %s: pfn of the first data page %#llx (0: a PFN map), %s\n", r->name,
	       (unsigned long long)r->pfn[1], r->typed ? "typed" : "not typed");
	if (r->pfn[1] && !r->typed) {
		/* perf before 6.14 faults refcounted pages in, which GUP may pin: not a ring to judge. */
		printf("mm-paths: %s: its pages are neither typed nor a PFN map: skipped\n", r->name);
		return;
	}
	if (access("/sys/devices/system/node/node1", F_OK) ||
	    access("/sys/kernel/debug/hwpoison/corrupt-pfn", F_OK)) {
		FAIL(r, "setup", "no second NUMA node (numa=fake=2) or no debugfs hwpoison injector");
		return;
	}

	/* A write to a data page (read-only in a writable mapping) must stop at a signal. */
	data_write(r, "a write to a data page");

	/* GUP: each of these pins or references a ring page, so each must be refused. */
	TRY(r, "vmsplice", 1, ({
		int p[2];
		long n = -1;
		struct iovec v = { data, PAGE };

		if (!pipe(p)) {
			n = vmsplice(p[1], &v, 1, 0);
			int e = errno;

			close(p[0]);
			close(p[1]);
			errno = e;
		}
		n;
	}));
	TRY(r, "process_vm_readv", 1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	TRY(r, "shared futex wait on the control page", 1, shared_futex_wait((uint32_t *)r->p));
	TRY(r, "/proc/self/mem write (FOLL_FORCE) to a data page", 1, proc_mem(data, r->snap + PAGE, 1));
	TRY(r, "MADV_HWPOISON", 1, madvise(data, PAGE, MADV_HWPOISON));
	TRY(r, "MADV_SOFT_OFFLINE", 1, madvise(data, PAGE, MADV_SOFT_OFFLINE));
	fd = loop_device();
	if (fd >= 0) {
		TRY(r, "O_DIRECT write from the ring (loop device)", 1, pwrite(fd, data, PAGE, 0));
		TRY(r, "O_DIRECT read into the control page (loop device)", 1, pread(fd, r->p, PAGE, 0));
		close(fd);
	} else {
		FAIL(r, "O_DIRECT", "no loop device: %s", strerror(errno));
	}
	fd = (int)syscall(__NR_io_uring_setup, 4, &(struct io_uring_params){ 0 });
	if (fd >= 0) {
		TRY(r, "io_uring fixed buffer", 1, io_uring_fixed_buffer(fd, data));
		close(fd);
	} else {
		FAIL(r, "io_uring", "io_uring_setup: %s", strerror(errno));
	}

	fd = open("/sys/kernel/debug/gup_test", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		TRY(r, "gup_test: get_user_pages_fast, a data page", 1, gup_test(fd, GUP_FAST_BENCHMARK, data, 0));
		TRY(r, "gup_test: get_user_pages, a data page", 1, gup_test(fd, GUP_BASIC_TEST, data, 0));
		TRY(r, "gup_test: pin_user_pages_fast FOLL_WRITE, the control page", 1,
		    gup_test(fd, PIN_FAST_BENCHMARK, r->p, 1));
		TRY(r, "gup_test: pin_user_pages FOLL_WRITE, the control page", 1,
		    gup_test(fd, PIN_BASIC_TEST, r->p, 1));
		TRY(r, "gup_test: pin_user_pages_fast FOLL_LONGTERM, a data page", 1, gup_test(fd, 0, data, 0));
		TRY(r, "gup_test: pin_user_pages_fast FOLL_LONGTERM|FOLL_WRITE, the control page", 1,
		    gup_test(fd, 0, r->p, 1));
		close(fd);
	} else {
		FAIL(r, "gup_test", "/sys/kernel/debug/gup_test: %s (CONFIG_GUP_TEST)", strerror(errno));
	}

	/* Paths that may accept the ring but must leave it intact. */
	TRY(r, "/proc/self/mem read", 0, ({
		long n = proc_mem(data, buf, 0);

		n < 0 || !memcmp(buf, r->snap + PAGE, PAGE) ? n : (errno = EBADMSG, -1);
	}));
	TRY(r, "ptrace PEEKDATA", 0, ptrace_peek(r));
	TRY(r, "move_pages to node 1", 0, ({
		long n = syscall(__NR_move_pages, 0, 1, &addr, &node, &status, MPOL_MF_MOVE);

		n < 0 ? n : status < 0 ? (errno = -status, -1) : status;
	}));
	TRY(r, "migrate_pages 0 -> 1", 0, syscall(__NR_migrate_pages, 0, nodes + 1, &node0, &node1));
	TRY(r, "mbind MPOL_BIND node 1, MOVE|STRICT", 0,
	    syscall(__NR_mbind, r->p, RING_LEN, MPOL_BIND, &node1, nodes + 1, MPOL_MF_MOVE | MPOL_MF_STRICT));
	TRY(r, "compact_memory", 0, write_sysfs("/proc/sys/vm/compact_memory", "1"));
	fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC);
	if (fd >= 0) {
		TRY(r, "userfaultfd register", 0, userfaultfd_register(fd, r));
		close(fd);
	} else {
		FAIL(r, "userfaultfd", "userfaultfd(): %s", strerror(errno));
	}
	TRY(r, "MADV_MERGEABLE", 0, madvise(r->p, RING_LEN, MADV_MERGEABLE));
	TRY(r, "MADV_HUGEPAGE", 0, madvise(r->p, RING_LEN, MADV_HUGEPAGE));
	TRY(r, "MADV_COLLAPSE", 0, madvise(r->p, RING_LEN, MADV_COLLAPSE));
	TRY(r, "MADV_DONTNEED", 0, madvise(r->p, RING_LEN, MADV_DONTNEED));
	/* A guard marker in the ring would leave an entry ->fault never fills (a fatal signal). */
	TRY(r, "MADV_GUARD_INSTALL on a data page", 1, madvise(data, PAGE, MADV_GUARD_INSTALL));
	/* Emulated by an mmap(MAP_FIXED) of one page, which splits the VMA first. */
	TRY(r, "remap_file_pages of one data page", 1, syscall(__NR_remap_file_pages, data, PAGE, 0, 2, 0));
	TRY(r, "mprotect PROT_READ, then PROT_READ|PROT_WRITE", 0,
	    mprotect(r->p, RING_LEN, PROT_READ) ?: mprotect(r->p, RING_LEN, PROT_READ | PROT_WRITE));
	data_write(r, "a write to a data page after the mprotect round trip");
	TRY(r, "PAGEMAP_SCAN", 0, pagemap_scan(r, 0));
	TRY(r, "PAGEMAP_SCAN with PM_SCAN_WP_MATCHING", 0, pagemap_scan(r, PM_SCAN_WP_MATCHING));
	if (r->pfn[0]) {
		errno = 0;
		long rc = soft_dirty_tracking(r);

		if (rc < 0)
			FAIL(r, "soft-dirty", "%s", strerror(errno));
		else
			report(r, "soft-dirty (clear_refs 4, write, MADV_DONTNEED, write)", rc, 0, 0);
	} else {
		printf("mm-paths: %s: soft-dirty: a PFN map (clear_refs skips it): not applicable\n", r->name);
	}
	TRY(r, "mlock", 0, mlock(r->p, RING_LEN));
	TRY(r, "munlock", 0, munlock(r->p, RING_LEN));
	TRY(r, "mlockall", 0, mlockall(MCL_CURRENT | MCL_FUTURE));
	TRY(r, "munlockall", 0, munlockall());
	TRY(r, "mseal (a child's own mapping)", 0, mseal_in_child(r));
	TRY(r, "smaps", 0, read_all("/proc/self/smaps"));
	TRY(r, "smaps_rollup", 0, read_all("/proc/self/smaps_rollup"));
	TRY(r, "numa_maps", 0, read_all("/proc/self/numa_maps"));
	TRY(r, "fork and exit", 0, ({
		pid_t pid = fork();
		int st = 0;

		if (pid == 0)
			_exit(0);
		pid < 0 ? -1 : waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? 0 : (errno = ECHILD, -1);
	}));

	/* The debugfs injector (root): memory failure on a ring page, then unpoison, which must not
	 * hand the page back to the allocator while it is mapped. */
	if (r->pfn[2]) {
		snprintf(path, sizeof(path), "%llu", (unsigned long long)r->pfn[2]);
		TRY(r, "hwpoison corrupt-pfn", 0, write_sysfs("/sys/kernel/debug/hwpoison/corrupt-pfn", path));
		TRY(r, "hwpoison unpoison-pfn", 1, write_sysfs("/sys/kernel/debug/hwpoison/unpoison-pfn", path));
	}

	/* mremap: the whole ring moves (and keeps its pages); growing it is refused. */
	{
		char *to = mmap(NULL, RING_LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *moved = to == MAP_FAILED ? MAP_FAILED
					       : mremap(r->p, RING_LEN, RING_LEN, MREMAP_MAYMOVE | MREMAP_FIXED, to);

		if (moved == MAP_FAILED) {
			FAIL(r, "mremap", "moving the whole ring failed: %s", strerror(errno));
		} else {
			r->p = moved;
			TRY(r, "mremap (whole ring, moved)", 0, 0);
			TRY(r, "mremap (grow)", 1, ({
				void *g = mremap(r->p, RING_LEN, RING_LEN + PAGE, MREMAP_MAYMOVE);

				g == MAP_FAILED ? -1 : 0;
			}));
		}
	}
}

/* No argument: both rings; `--perf`: the kernel's perf ring alone (no driver loaded). */
int main(int argc, char **argv)
{
	struct ring rings[2] = { 0 };
	int (*open_ring[2])(struct ring *) = { open_driver, open_perf };
	int first = argc > 1 && !strcmp(argv[1], "--perf");

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = first; i < 2; i++) {
		if (open_ring[i](&rings[i])) {
			printf("mm-paths: FAIL: cannot set up ring %d: %s\n", i, strerror(errno));
			return 1;
		}
		paths(&rings[i]);
		munmap(rings[i].p, RING_LEN);
		close(rings[i].fd);
	}
	printf("mm-paths: %s\n", failures ? "FAILED" : "every path refused or harmless");
	return failures ? 1 : 0;
}
