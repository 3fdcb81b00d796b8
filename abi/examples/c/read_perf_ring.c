// SPDX-License-Identifier: MIT
/*
 * read_perf_ring: reads a perf_event_open(2) ring with premap_abi.h alone (no <linux/perf_event.h>):
 * samples every page fault of this process while it touches PAGES fresh pages in four rounds, draining
 * the 8-page ring between rounds so that it wraps, and prints what it read.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -pedantic -I abi/include abi/examples/c/read_perf_ring.c
 *   ./a.out        -> "samples 4000+ lost 0 wraps N"   (exit 0; 1 on a syscall error, 2 on a corrupt ring)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "premap_abi.h"

#define DATA_PAGES 8
#define ROUNDS 4
#define PAGES_PER_ROUND 1000

static unsigned long long samples, lost;

/* Reads every record published since the last call; returns -1 on a corrupt ring. */
static int drain(struct premap_control_page *cp, size_t page_size)
{
	const unsigned char *data = premap_ring_data(cp, page_size);
	uint64_t head = premap_ring_load_head(cp), tail = premap_ring_load_tail(cp);
	uint64_t rec[64]; /* 512 bytes, 8-byte aligned: larger than any record this event writes */

	while (tail < head) {
		struct premap_event_header h;
		size_t size = premap_ring_read_record(data, cp->data_size, tail, head, rec, sizeof(rec));

		if (size == 0)
			return -1;
		memcpy(&h, rec, sizeof(h));
		if (h.type == PREMAP_RECORD_SAMPLE)
			samples++;
		else if (h.type == PREMAP_RECORD_LOST)
			lost += rec[2]; /* id, then the count */
		tail += size;
	}
	premap_ring_store_tail(cp, tail);
	return 0;
}

int main(void)
{
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE), len = (1 + DATA_PAGES) * page_size;
	struct premap_event_attr attr;
	struct premap_control_page *cp;
	unsigned char *mem;
	int fd, round, i;

	memset(&attr, 0, sizeof(attr));
	attr.type = PREMAP_TYPE_SOFTWARE;
	attr.size = sizeof(attr);
	attr.config = PREMAP_COUNT_SW_PAGE_FAULTS;
	attr.sample_period = 1;
	attr.sample_type = PREMAP_SAMPLE_IP | PREMAP_SAMPLE_TID;
	/* User space only: allowed without privilege up to perf_event_paranoid 2. */
	attr.flags = PREMAP_ATTR_FLAG_DISABLED | PREMAP_ATTR_FLAG_EXCLUDE_KERNEL | PREMAP_ATTR_FLAG_EXCLUDE_HV;
	fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	if (fd < 0) {
		fprintf(stderr, "perf_event_open: %s\n", strerror(errno));
		return 1;
	}
	cp = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	mem = mmap(NULL, (size_t)ROUNDS * PAGES_PER_ROUND * page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cp == MAP_FAILED || mem == MAP_FAILED) {
		fprintf(stderr, "mmap: %s\n", strerror(errno));
		return 1;
	}
	if (ioctl(fd, PREMAP_PERF_EVENT_IOC_ENABLE, 0) != 0) {
		fprintf(stderr, "PERF_EVENT_IOC_ENABLE: %s\n", strerror(errno));
		return 1;
	}
	for (round = 0; round < ROUNDS; round++) {
		for (i = 0; i < PAGES_PER_ROUND; i++)
			((volatile unsigned char *)mem)[((size_t)round * PAGES_PER_ROUND + i) * page_size] = 1;
		if (drain(cp, page_size) != 0) {
			fprintf(stderr, "corrupt ring at data_tail %llu\n", (unsigned long long)cp->data_tail);
			return 2;
		}
	}
	ioctl(fd, PREMAP_PERF_EVENT_IOC_DISABLE, 0);
	if (drain(cp, page_size) != 0)
		return 2;
	printf("samples %llu lost %llu wraps %llu\n", samples, lost,
	       (unsigned long long)(premap_ring_load_tail(cp) / cp->data_size));
	return 0;
}
