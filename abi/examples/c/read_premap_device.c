// SPDX-License-Identifier: MIT
/*
 * read_premap_device: reads the premap driver's ring with premap_abi.h alone, as a C tool would: for
 * each mapping strategy (the PFN map, then PREMAP_CREATE_TYPED_PAGES), creates an 8-page buffer, maps
 * it, starts the in-kernel generator for COUNT samples and drains the ring with poll(2) until every
 * sample has been read or counted lost; the sequence numbers (PERIOD) must come in order. Then, for
 * the typed strategy, MADV_DONTNEED over the whole mapping must leave the ring readable with the same
 * control page (the driver maps zapped pages again).
 *
 *   cc -std=c11 -Wall -Wextra -Werror -pedantic -static -I abi/include abi/examples/c/read_premap_device.c
 *   ./a.out   (needs /dev/premap: driver/vmtest --guest-run runs it in the guest)
 *   -> "pfnmap: samples N lost M" and "typed: samples N lost M"   (exit 0; 1 on a syscall error,
 *      2 on a corrupt ring or a sample out of order)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "premap_abi.h"

#define DATA_PAGES 8
#define COUNT 100000ULL

struct reader {
	struct premap_control_page *cp;
	size_t page_size;
	unsigned long long samples, lost, next_seq;
};

/* Reads every record published since the last call; returns -1 on a corrupt ring or a sample out of
 * order. A generated sample is IDENTIFIER, TID, TIME, PERIOD (the sequence number). */
static int drain(struct reader *r)
{
	const unsigned char *data = premap_ring_data(r->cp, r->page_size);
	uint64_t head = premap_ring_load_head(r->cp), tail = premap_ring_load_tail(r->cp);
	uint64_t rec[512]; /* 4 KiB, 8-byte aligned: larger than any record the generator writes */

	while (tail < head) {
		struct premap_event_header h;
		size_t size = premap_ring_read_record(data, r->cp->data_size, tail, head, rec, sizeof(rec));

		if (size == 0)
			return -1;
		memcpy(&h, rec, sizeof(h));
		if (h.type == PREMAP_RECORD_SAMPLE) {
			if (size < 40 || rec[4] < r->next_seq)
				return -1;
			r->next_seq = rec[4] + 1;
			r->samples++;
		} else if (h.type == PREMAP_RECORD_LOST) {
			r->lost += rec[2]; /* id, then the count */
		}
		tail += size;
	}
	premap_ring_store_tail(r->cp, tail);
	return 0;
}

static int run(const char *name, uint32_t flags)
{
	struct premap_create create;
	struct premap_generate gen;
	struct premap_stats stats;
	struct reader r;
	size_t len;
	int fd, polls = 0;

	memset(&r, 0, sizeof(r));
	r.page_size = (size_t)sysconf(_SC_PAGESIZE);
	len = (1 + DATA_PAGES) * r.page_size;
	fd = open("/dev/premap", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "open /dev/premap: %s\n", strerror(errno));
		return 1;
	}
	memset(&create, 0, sizeof(create));
	create.size = sizeof(create);
	create.flags = flags;
	create.data_pages = DATA_PAGES;
	if (ioctl(fd, PREMAP_IOC_CREATE, &create) != 0) {
		fprintf(stderr, "%s: PREMAP_IOC_CREATE: %s\n", name, strerror(errno));
		return 1;
	}
	r.cp = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r.cp == MAP_FAILED) {
		fprintf(stderr, "%s: mmap: %s\n", name, strerror(errno));
		return 1;
	}
	memset(&gen, 0, sizeof(gen));
	gen.count = COUNT;
	gen.batch = 64;
	gen.sample_size = 48;
	if (ioctl(fd, PREMAP_IOC_GENERATE, &gen) != 0) {
		fprintf(stderr, "%s: PREMAP_IOC_GENERATE: %s\n", name, strerror(errno));
		return 1;
	}
	while (r.samples + r.lost < COUNT) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (drain(&r) != 0) {
			fprintf(stderr, "%s: corrupt ring or sample out of order at data_tail %llu\n", name,
				(unsigned long long)premap_ring_load_tail(r.cp));
			return 2;
		}
		if (r.samples + r.lost >= COUNT)
			break;
		/* The last drops are reported only with a later record: after a quiet second, ask the
		 * producer's count. */
		if (poll(&p, 1, 1000) == 0) {
			if (ioctl(fd, PREMAP_IOC_STATS, &stats) != 0)
				return 1;
			if (r.samples + stats.lost >= COUNT) {
				r.lost = stats.lost;
				break;
			}
			if (++polls > 60) {
				fprintf(stderr, "%s: stuck at %llu samples, %llu lost\n", name, r.samples, r.lost);
				return 2;
			}
		}
	}
	if (flags & PREMAP_CREATE_TYPED_PAGES) {
		uint64_t size = r.cp->data_size;

		if (madvise(r.cp, len, MADV_DONTNEED) != 0) {
			fprintf(stderr, "%s: MADV_DONTNEED: %s\n", name, strerror(errno));
			return 1;
		}
		if (r.cp->data_size != size || drain(&r) != 0) {
			fprintf(stderr, "%s: the ring changed after MADV_DONTNEED\n", name);
			return 2;
		}
	}
	printf("%s: samples %llu lost %llu\n", name, r.samples, r.lost);
	munmap(r.cp, len);
	close(fd);
	return 0;
}

int main(void)
{
	int rc = run("pfnmap", 0);

	if (rc == 0)
		rc = run("typed", PREMAP_CREATE_TYPED_PAGES);
	return rc;
}
