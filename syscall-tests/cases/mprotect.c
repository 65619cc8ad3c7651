/* mprotect(2): changing protections keeps the contents; error paths. Only
 * accesses that are allowed are made: a fault would be a signal. */
#include "tap.h"

#include <sys/mman.h>

#define PAGE 4096L
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

int main(void)
{
	volatile unsigned char *p, *hole;
	long rw;

	plan(10);

	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, ANON, -1, 0);
	need(p != MAP_FAILED, "mmap");
	p[0] = 11;
	p[PAGE] = 22;
	CHECK("making a page read-only succeeds",
	      mprotect((void *)p, PAGE, PROT_READ), 0, 0);
	CHECK_TRUE("it still reads its contents", p[0] == 11);
	CHECK("PROT_NONE succeeds", mprotect((void *)p, PAGE, PROT_NONE), 0,
	      0);
	CHECK_OKV("back to read-write succeeds",
		  mprotect((void *)p, PAGE, PROT_READ | PROT_WRITE), rw);
	need(rw == 0, "mprotect back to read-write");
	p[1] = 12;
	CHECK_TRUE("the contents survived and the page is writable again",
		   p[0] == 11 && p[1] == 12 && p[PAGE] == 22);
	CHECK("length 0 succeeds", mprotect((void *)p, 0, PROT_READ), 0, 0);
	CHECK_ERR("an unaligned address gives EINVAL",
		  mprotect((void *)(p + 1), PAGE, PROT_READ), EINVAL);
	CHECK_ERR("unknown protection bits give EINVAL",
		  mprotect((void *)p, PAGE, 0x100), EINVAL);

	hole = mmap(NULL, PAGE, PROT_READ, ANON, -1, 0);
	munmap((void *)hole, PAGE);
	CHECK_ERR("an unmapped range gives ENOMEM",
		  mprotect((void *)hole, PAGE, PROT_READ), ENOMEM);
	munmap((void *)p, 2 * PAGE);

	/* Three pages with the last one unmapped: the range has a hole. */
	p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, ANON, -1, 0);
	need(p != MAP_FAILED, "mmap");
	munmap((void *)(p + 2 * PAGE), PAGE);
	CHECK_ERR("a range running past its mapping gives ENOMEM",
		  mprotect((void *)p, 3 * PAGE, PROT_READ), ENOMEM);
	munmap((void *)p, 2 * PAGE);
	return done();
}
