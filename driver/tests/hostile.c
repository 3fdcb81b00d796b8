// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile local user against /dev/premap, written in C against premap_abi.h the way a new user would,
 * and run in the guest by `driver/vmtest --guest-run` (./test.sh builds it static and passes it). Each
 * scenario is one the driver once failed; the program exits non-zero on the first promise broken, and
 * the console scan catches splats, soft lockups and hung tasks.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -static -I abi/include driver/tests/hostile.c -o hostile
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "premap_abi.h"

static int failures;

#define CHECK(cond, ...)                                                                          \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			printf("hostile: FAIL %s:%d: ", __func__, __LINE__);                    \
			printf(__VA_ARGS__);                                                      \
			printf("\n");                                                             \
			failures++;                                                               \
			return;                                                                   \
		}                                                                                 \
	} while (0)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dev_open(void)
{
	return open(PREMAP_DEVICE_PATH, O_RDWR | O_CLOEXEC);
}

static int create(int fd, uint32_t data_pages, uint32_t flags)
{
	struct premap_create c = { .size = sizeof(c), .flags = flags, .data_pages = data_pages };

	return ioctl(fd, PREMAP_IOC_CREATE, &c) ? -errno : 0;
}

/* As uid 65534: 64 opens, each asking for 4096 data pages (16 MiB): the user limit stops it early. */
static void pin_the_machine_as_nobody(void)
{
	pid_t pid = fork();
	int status, created = 0, err = 0;

	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(100);
		for (int i = 0; i < 64; i++) {
			int fd = dev_open();

			if (fd < 0)
				_exit(101);
			err = create(fd, 4096, 0);
			if (err)
				break;
			created++; /* the fd stays open: the pages stay pinned */
		}
		_exit(err == -EPERM ? created : 102);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status), "the child died (status %#x)", status);
	/* 8 MiB allowance + the default 8 MiB RLIMIT_MEMLOCK: at most 3 buffers of 16 MiB + 1 page. */
	CHECK(WEXITSTATUS(status) <= 3, "uid 65534 created %d buffers of 16 MiB before EPERM (exit %d)",
	      WEXITSTATUS(status), WEXITSTATUS(status));
	printf("hostile: uid 65534 pinned %d buffers of 16 MiB, then EPERM\n", WEXITSTATUS(status));
}

/* The generator with the longest period the ABI takes, then close: close returns at once. */
static void generator_then_close(void)
{
	struct premap_generate g = { .count = UINT64_MAX, .period_ns = UINT64_MAX, .batch = 1, .sample_size = 40 };
	int fd = dev_open();
	double t;

	CHECK(fd >= 0 && create(fd, 4, 0) == 0, "create");
	CHECK(ioctl(fd, PREMAP_IOC_GENERATE, &g) == -1 && errno == EINVAL, "period 2^64-1 accepted");
	g.batch = UINT32_MAX;
	g.period_ns = 0;
	CHECK(ioctl(fd, PREMAP_IOC_GENERATE, &g) == -1 && errno == EINVAL, "batch 2^32-1 accepted");
	g.batch = PREMAP_MAX_GENERATE_BATCH;
	g.period_ns = PREMAP_MAX_GENERATE_PERIOD_NS;
	CHECK(ioctl(fd, PREMAP_IOC_GENERATE, &g) == 0, "the longest period refused: %s", strerror(errno));
	usleep(300 * 1000);
	t = now();
	close(fd);
	t = now() - t;
	CHECK(t < 0.5, "close took %.3f s", t);
	printf("hostile: close of a generating file took %.1f ms\n", t * 1e3);
}

/* Full-speed generators, as many as allowed, while this process does nothing: the machine stays usable. */
static void generators_at_full_speed(void)
{
	struct premap_generate g = { .count = UINT64_MAX, .batch = PREMAP_MAX_GENERATE_BATCH, .sample_size = 64 };
	int fds[PREMAP_MAX_GENERATORS_PER_USER + 1], i, started = 0;
	double t;

	for (i = 0; i <= PREMAP_MAX_GENERATORS_PER_USER; i++) {
		fds[i] = dev_open();
		if (fds[i] < 0 || create(fds[i], 1, 0))
			break;
		if (ioctl(fds[i], PREMAP_IOC_GENERATE, &g) == 0)
			started++;
		else
			CHECK(errno == EAGAIN, "GENERATE failed with %s, not EAGAIN", strerror(errno));
	}
	CHECK(started == PREMAP_MAX_GENERATORS_PER_USER, "%d generators started", started);
	/* A plain sleep must still be on time with every generator spinning. */
	t = now();
	usleep(100 * 1000);
	t = now() - t;
	CHECK(t < 1.0, "a 100 ms sleep took %.3f s beside %d generators", t, started);
	t = now();
	for (i = 0; i <= PREMAP_MAX_GENERATORS_PER_USER; i++)
		close(fds[i]);
	t = now() - t;
	/* Prompt, not instant: under QEMU's TCG with KASAN each stop waits for a kthread to be scheduled. */
	CHECK(t < 5.0, "closing %d generating files took %.3f s", started, t);
	printf("hostile: closing %d generating files took %.0f ms\n", started, t * 1e3);
}

/* A 5 MiB write into an 8 MiB ring is one copy of bounded size, published whole. */
static void large_write(void)
{
	size_t len = 5 << 20, n = len / 64;
	char *buf = calloc(1, len);
	struct premap_stats st;
	int fd = dev_open();

	CHECK(buf && fd >= 0 && create(fd, 2048, 0) == 0, "setup");
	for (size_t i = 0; i < n; i++) {
		struct premap_event_header h = { .type = PREMAP_RECORD_SAMPLE, .misc = 2, .size = 64 };

		memcpy(buf + i * 64, &h, sizeof(h));
	}
	CHECK(write(fd, buf, len) == (ssize_t)len, "5 MiB write: %s", strerror(errno));
	CHECK(ioctl(fd, PREMAP_IOC_STATS, &st) == 0 && st.records == n, "records %llu, want %zu",
	      (unsigned long long)st.records, n);
	free(buf);
	close(fd);
}

/* Overwrite mode: poll is readable once per watermark, not forever after the first record. */
static void overwrite_poll(void)
{
	struct premap_create c = { .size = sizeof(c), .flags = PREMAP_CREATE_OVERWRITE, .data_pages = 4,
				   .wakeup_watermark = 256 };
	struct premap_event_header h = { .type = PREMAP_RECORD_SAMPLE, .misc = 2, .size = 256 };
	char rec[256] = { 0 };
	struct pollfd p;
	int fd = dev_open(), hits = 0;

	CHECK(fd >= 0 && ioctl(fd, PREMAP_IOC_CREATE, &c) == 0, "setup");
	memcpy(rec, &h, sizeof(h));
	CHECK(write(fd, rec, sizeof(rec)) == sizeof(rec), "write");
	for (int i = 0; i < 100; i++) {
		p = (struct pollfd){ .fd = fd, .events = POLLIN };
		hits += poll(&p, 1, 0) == 1;
	}
	CHECK(hits == 1, "readable %d times of 100 after one watermark's worth", hits);
	close(fd);
}

/* A mapping is never executable, never a single page of a bigger ring, never private. */
static void mmap_rules(void)
{
	int fd = dev_open();
	void *p;

	CHECK(fd >= 0 && create(fd, 8, 0) == 0, "setup");
	p = mmap(NULL, 9 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED, fd, 0);
	CHECK(p == MAP_FAILED && errno == EPERM, "PROT_EXEC: %s", p == MAP_FAILED ? strerror(errno) : "mapped");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p == MAP_FAILED && errno == EINVAL, "1 page of 9: %s", p == MAP_FAILED ? strerror(errno) : "mapped");
	p = mmap(NULL, 9 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(p == MAP_FAILED && errno == EINVAL, "MAP_PRIVATE: %s", p == MAP_FAILED ? strerror(errno) : "mapped");
	p = mmap(NULL, 9 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "the right mapping: %s", strerror(errno));
	CHECK(mprotect(p, 9 * 4096, PROT_READ | PROT_EXEC) == -1, "mprotect(PROT_EXEC) accepted");
	munmap(p, 9 * 4096);
	close(fd);
}

/* Bad pointers and sizes in every ioctl: clean errnos. */
static void bad_ioctls(void)
{
	int fd = dev_open();
	struct premap_create c = { .size = 8, .data_pages = 4 };

	CHECK(fd >= 0, "open");
	CHECK(ioctl(fd, PREMAP_IOC_CREATE, (void *)8) == -1 && errno == EFAULT, "CREATE from address 8");
	CHECK(ioctl(fd, PREMAP_IOC_CREATE, &c) == -1 && errno == EINVAL, "CREATE with size 8");
	CHECK(ioctl(fd, PREMAP_IOC_STATS, NULL) == -1 && errno == ENODEV, "STATS before CREATE");
	CHECK(create(fd, 3, 0) == -EINVAL, "3 data pages accepted");
	CHECK(create(fd, 1u << 31, 0) == -EINVAL, "2^31 data pages accepted");
	CHECK(create(fd, 4, 0) == 0, "CREATE");
	CHECK(ioctl(fd, PREMAP_IOC_STATS, (void *)8) == -1 && errno == EFAULT, "STATS to address 8");
	CHECK(ioctl(fd, 0xdeadbeef, 0) == -1 && errno == ENOTTY, "an unknown request");
	close(fd);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	pin_the_machine_as_nobody();
	generator_then_close();
	generators_at_full_speed();
	large_write();
	overwrite_poll();
	mmap_rules();
	bad_ioctls();
	printf("hostile: %s (%d failures)\n", failures ? "FAILED" : "passed", failures);
	return failures ? 1 : 0;
}
