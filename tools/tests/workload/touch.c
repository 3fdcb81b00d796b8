/* Test and benchmark workload: touches N fresh anonymous pages (argv[1], default 1000), one write each,
 * ROUNDS times (argv[2], default 1; each round maps fresh memory and unmaps it after), so that it takes
 * at least N * ROUNDS page faults; then exits. Built with the system C compiler by the tools tests and
 * bench/recorder.sh. */
#include <stdlib.h>
#include <sys/mman.h>
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
	return 0;
}
