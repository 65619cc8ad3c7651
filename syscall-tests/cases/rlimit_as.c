/* RLIMIT_AS: with the soft limit at 512 MiB (well above what a small
 * program maps), mmap, mremap growth and brk growth past it are refused
 * (ENOMEM, or an unchanged break), a MAP_FIXED over existing pages is not
 * counted twice, and raising the limit again lets the same mapping
 * through. Nothing past the limit is ever touched. */
#include "tap.h"

#include <sys/mman.h>
#include <sys/resource.h>

int main(void)
{
	const unsigned long mib = 1UL << 20;
	struct rlimit saved, lim;
	void *p, *small, *grown, *brk0, *brk1;

	plan(8);
	getrlimit(RLIMIT_AS, &saved);
	lim.rlim_cur = 512 * mib;
	lim.rlim_max = saved.rlim_max;
	CHECK("setrlimit(RLIMIT_AS) to 512 MiB",
	      setrlimit(RLIMIT_AS, &lim), 0, 0);

	p = mmap(NULL, 1024 * mib, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_TRUE("mmap past the limit is ENOMEM",
		   p == MAP_FAILED && errno == ENOMEM);

	small = mmap(NULL, 16 * mib, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_TRUE("mmap within the limit succeeds", small != MAP_FAILED);

	p = mmap(small, 16 * mib, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK_TRUE("MAP_FIXED over its own pages is not counted twice",
		   p == small);

	grown = mremap(small, 16 * mib, 1024 * mib, MREMAP_MAYMOVE);
	CHECK_TRUE("mremap growing past the limit is ENOMEM",
		   grown == MAP_FAILED && errno == ENOMEM);

	brk0 = sbrk(0);
	brk1 = (void *)syscall(SYS_brk, (char *)brk0 + 1024 * mib);
	CHECK_TRUE("brk past the limit leaves the break unchanged",
		   brk1 == brk0);

	CHECK("raising the limit back succeeds", setrlimit(RLIMIT_AS, &saved),
	      0, 0);
	p = mmap(NULL, 1024 * mib, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_TRUE("the same mmap then succeeds", p != MAP_FAILED);
	return done();
}
