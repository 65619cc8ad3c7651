/* mremap(2): growing (moving or in place) and shrinking keep contents,
 * MREMAP_FIXED, and the error paths. Freed ranges are checked with
 * MAP_FIXED_NOREPLACE, never by touching them. */
#include "tap.h"

#include <sys/mman.h>

#define PAGE 4096L
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define RW (PROT_READ | PROT_WRITE)

static void fill(volatile unsigned char *p, long n)
{
	long i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i % 251);
}

static int filled(const volatile unsigned char *p, long n)
{
	long i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i % 251))
			return 0;
	return 1;
}

static int is_zero(const volatile unsigned char *p, long n)
{
	long i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int main(void)
{
	volatile unsigned char *p, *q, *r, *tail, *target;

	plan(20);

	p = mmap(NULL, 4 * PAGE, RW, ANON, -1, 0);
	need(p != MAP_FAILED, "mmap");
	fill(p, 4 * PAGE);
	q = mremap((void *)p, 4 * PAGE, 16 * PAGE, MREMAP_MAYMOVE);
	CHECK_TRUE("growing with MREMAP_MAYMOVE succeeds", q != MAP_FAILED);
	need(q != MAP_FAILED, "mremap grow");
	CHECK_TRUE("the old contents moved along", filled(q, 4 * PAGE));
	CHECK_TRUE("the new part reads as zero",
		   is_zero(q + 4 * PAGE, 12 * PAGE));

	r = mremap((void *)q, 16 * PAGE, 2 * PAGE, 0);
	tail = mmap((void *)(q + 2 * PAGE), PAGE, PROT_READ,
		    ANON | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK_TRUE("shrinking returns the same address", r == q);
	need(r == q, "mremap shrink");
	CHECK_TRUE("shrinking keeps the remaining contents",
		   filled(q, 2 * PAGE));
	CHECK_TRUE("the cut-off tail is free again", tail == q + 2 * PAGE);
	munmap((void *)q, 3 * PAGE);

	/* Two VMAs side by side: the first cannot grow in place. */
	p = mmap(NULL, 2 * PAGE, RW, ANON, -1, 0);
	need(p != MAP_FAILED, "mmap");
	mprotect((void *)(p + PAGE), PAGE, PROT_READ);
	CHECK_ERR("growing in place into a mapping gives ENOMEM",
		  mremap((void *)p, PAGE, 2 * PAGE, 0), ENOMEM);
	munmap((void *)(p + PAGE), PAGE);
	fill(p, PAGE);
	q = mremap((void *)p, PAGE, 2 * PAGE, 0);
	CHECK_TRUE("growing in place into free space keeps the address",
		   q == p);
	CHECK_TRUE("and keeps the contents", q == p && filled(p, PAGE));
	munmap((void *)p, 2 * PAGE);

	/* A mapping grown in place is one VMA: it grows in place again, and
	 * moves whole, across where the growths joined. */
	p = mmap(NULL, 8 * PAGE, RW, ANON, -1, 0);
	need(p != MAP_FAILED, "mmap");
	munmap((void *)(p + PAGE), 7 * PAGE);
	q = mremap((void *)p, PAGE, 2 * PAGE, 0);
	need(q == p, "mremap grow in place");
	fill(p, 2 * PAGE);
	q = mremap((void *)p, 2 * PAGE, 4 * PAGE, 0);
	CHECK_TRUE("a grown mapping grows in place again", q == p);
	CHECK_TRUE("keeping what both parts held", q == p && filled(p, 2 * PAGE));
	target = mmap(NULL, 4 * PAGE, PROT_NONE, ANON, -1, 0);
	need(target != MAP_FAILED, "mmap");
	if (q == p)
		fill(p, 4 * PAGE);
	r = mremap((void *)p, q == p ? 4 * PAGE : 2 * PAGE, 4 * PAGE,
		   MREMAP_MAYMOVE | MREMAP_FIXED, (void *)target);
	CHECK_TRUE("it moves whole, contents and all",
		   r == target && q == p && filled(target, 4 * PAGE));
	munmap((void *)target, 4 * PAGE);
	munmap((void *)p, 4 * PAGE);

	target = mmap(NULL, 2 * PAGE, PROT_NONE, ANON, -1, 0);
	p = mmap(NULL, 2 * PAGE, RW, ANON, -1, 0);
	need(p != MAP_FAILED && target != MAP_FAILED, "mmap");
	fill(p, 2 * PAGE);
	q = mremap((void *)p, 2 * PAGE, 2 * PAGE,
		   MREMAP_MAYMOVE | MREMAP_FIXED, (void *)target);
	r = mmap((void *)p, 2 * PAGE, PROT_READ, ANON | MAP_FIXED_NOREPLACE,
		 -1, 0);
	CHECK_TRUE("MREMAP_FIXED moves to the given address", q == target);
	CHECK_TRUE("the contents arrive there", q == target &&
						       filled(target, 2 * PAGE));
	CHECK_TRUE("the old range is free", r == p);
	munmap((void *)p, 2 * PAGE);

	CHECK_ERR("unknown flags give EINVAL",
		  mremap((void *)target, PAGE, PAGE, 0x100), EINVAL);
	CHECK_ERR("an unaligned old address gives EINVAL",
		  mremap((void *)(target + 1), PAGE, PAGE, 0), EINVAL);
	CHECK_ERR("a new size of 0 gives EINVAL",
		  mremap((void *)target, PAGE, 0, MREMAP_MAYMOVE), EINVAL);
	CHECK_ERR("MREMAP_FIXED without MREMAP_MAYMOVE gives EINVAL",
		  mremap((void *)target, PAGE, PAGE, MREMAP_FIXED,
			 (void *)p), EINVAL);
	munmap((void *)target, 2 * PAGE);
	CHECK_ERR("an unmapped old address gives EFAULT",
		  mremap((void *)target, PAGE, PAGE, 0), EFAULT);
	return done();
}
