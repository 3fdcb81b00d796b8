/* Test and benchmark workload: touches N fresh anonymous pages (argv[1], default 1000), one write each,
 * ROUNDS times (argv[2], default 1; each round maps fresh memory and unmaps it after), so that it takes
 * at least N * ROUNDS page faults; then exits. With a third argument FILE it appends its own CPU time
 * ("user sys" in seconds, RUSAGE_SELF) to FILE, so that bench/recorder.sh can tell the recorder's CPU
 * from the workload's. Built with the system C compiler by the tools tests and bench/recorder.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	long rounds = argc > 2 ? atol(argv[2]) : 1;
	long page = sysconf(_SC_PAGESIZE);
	for (long r = 0; r < rounds; r++) {
		volatile char *p = mmap(NULL, (size_t)(n * page), PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		for (long i = 0; i < n; i++)
			p[i * page] = 1;
		munmap((void *)p, (size_t)(n * page));
	}
	if (argc > 3) {
		struct rusage ru;
		FILE *f = fopen(argv[3], "a");
		if (!f || getrusage(RUSAGE_SELF, &ru) != 0)
			return 1;
		fprintf(f, "%ld.%06ld %ld.%06ld\n", (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
			(long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec);
		if (fclose(f) != 0)
			return 1;
	}
	return 0;
}
