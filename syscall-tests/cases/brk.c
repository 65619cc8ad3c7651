/* brk(2): query, grow (zero-filled, writable), shrink back, and a refused
 * request that leaves the break alone. The raw syscall returns the new
 * break (or the old one on failure). Nothing allocates between grow and
 * shrink: malloc may use the heap above the break. */
#include "tap.h"

int main(void)
{
	unsigned long cur, grown, again, shrunk, refused;
	volatile unsigned char *p;
	int zero = 1, kept = 1, rezero = 1;
	unsigned long i;

	plan(7);

	fflush(stdout);
	cur = syscall(SYS_brk, 0);
	grown = syscall(SYS_brk, cur + 16384);
	p = (volatile unsigned char *)cur;
	if (grown == cur + 16384) {
		for (i = 0; i < 16384; i++)
			zero &= p[i] == 0;
		for (i = 0; i < 16384; i++)
			p[i] = (unsigned char)i;
		for (i = 0; i < 16384; i++)
			kept &= p[i] == (unsigned char)i;
	}
	again = syscall(SYS_brk, 0);
	shrunk = syscall(SYS_brk, cur);
	refused = syscall(SYS_brk, 4096);
	if (syscall(SYS_brk, cur + 16384) == (long)(cur + 16384)) {
		/* Only whole pages are given back: start at the next one. */
		for (i = (4096 - cur % 4096) % 4096; i < 16384; i++)
			rezero &= p[i] == 0;
	} else {
		rezero = 0;
	}
	syscall(SYS_brk, cur);

	CHECK_TRUE("brk(0) returns the current break", cur != 0);
	CHECK_TRUE("growing by 16 KiB returns the new break",
		   grown == cur + 16384);
	CHECK_TRUE("the new memory reads as zero", zero);
	CHECK_TRUE("the new memory is writable", kept);
	CHECK_TRUE("brk(0) after growing is the new break and shrinking "
		   "returns the old one",
		   again == cur + 16384 && shrunk == cur);
	CHECK_TRUE("a break below the data segment is refused (old break "
		   "returned)",
		   refused == cur);
	CHECK_TRUE("memory given back and grown again reads as zero", rezero);
	return done();
}
