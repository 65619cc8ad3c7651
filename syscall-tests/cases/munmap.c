/* munmap(2): unmapping frees the range (checked by mapping it again with
 * MAP_FIXED_NOREPLACE, never by touching it: a fault would be a signal),
 * partial unmaps, and the error paths. */
#include "tap.h"

#include <sys/mman.h>

#define PAGE 4096L
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

int main(void)
{
	volatile unsigned char *p, *again, *mid, *edge;
	long unmap, unmap_mid;

	plan(10);

	p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, ANON, -1, 0);
	need(p != MAP_FAILED, "mmap");
	p[0] = 1;
	p[PAGE] = 2;
	p[2 * PAGE] = 3;
	unmap = munmap((void *)p, 3 * PAGE);
	again = mmap((void *)p, 3 * PAGE, PROT_READ | PROT_WRITE,
		     ANON | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK_EQ("munmap returns 0", unmap, 0);
	CHECK_TRUE("MAP_FIXED_NOREPLACE at the freed address succeeds",
		   again == p);
	CHECK_TRUE("the new mapping is fresh (zero), not the old contents",
		   again == p && p[0] == 0 && p[PAGE] == 0 && p[2 * PAGE] == 0);
	need(again == p, "mapping the freed range again");

	p[0] = 1;
	p[2 * PAGE] = 3;
	unmap_mid = munmap((void *)(p + PAGE), PAGE);
	mid = mmap((void *)(p + PAGE), PAGE, PROT_READ | PROT_WRITE,
		   ANON | MAP_FIXED_NOREPLACE, -1, 0);
	edge = mmap((void *)p, 2 * PAGE, PROT_READ, ANON | MAP_FIXED_NOREPLACE,
		    -1, 0);
	CHECK_EQ("unmapping the middle page returns 0", unmap_mid, 0);
	CHECK_TRUE("the middle page can be mapped again", mid == p + PAGE);
	CHECK_TRUE("the outer pages are still mapped (NOREPLACE refuses)",
		   edge == MAP_FAILED && errno == EEXIST);
	CHECK_TRUE("the outer pages kept their contents",
		   p[0] == 1 && p[2 * PAGE] == 3);
	munmap((void *)p, 3 * PAGE);

	CHECK_ERR("an unaligned address gives EINVAL",
		  munmap((void *)(p + 1), PAGE), EINVAL);
	CHECK_ERR("length 0 gives EINVAL", munmap((void *)p, 0), EINVAL);
	CHECK("unmapping a range with nothing mapped returns 0",
	      munmap((void *)p, 3 * PAGE), 0, 0);
	return done();
}
