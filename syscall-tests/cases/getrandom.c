/* getrandom(2): buffers get filled, flags are checked. */
#include "tap.h"

#include <sys/random.h>

static int all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int main(void)
{
	unsigned char a[64], b[64];

	plan(10);

	memset(a, 0, sizeof(a));
	CHECK("getrandom of 64 bytes returns 64",
	      syscall(SYS_getrandom, a, sizeof(a), 0), 64, 0);
	CHECK_TRUE("the buffer is filled (not all zero)",
		   !all_zero(a, sizeof(a)));
	memset(b, 0, sizeof(b));
	CHECK("GRND_NONBLOCK returns 64",
	      syscall(SYS_getrandom, b, sizeof(b), GRND_NONBLOCK), 64, 0);
	CHECK_TRUE("two draws differ", memcmp(a, b, sizeof(a)) != 0);
	CHECK("GRND_RANDOM|GRND_NONBLOCK returns bytes",
	      syscall(SYS_getrandom, b, 16, GRND_RANDOM | GRND_NONBLOCK) > 0,
	      1, 0);
	CHECK("GRND_INSECURE returns 64",
	      syscall(SYS_getrandom, b, sizeof(b), GRND_INSECURE), 64, 0);
	CHECK("a zero-length request returns 0",
	      syscall(SYS_getrandom, b, 0, 0), 0, 0);
	CHECK_ERR("unknown flags give EINVAL",
		  syscall(SYS_getrandom, b, sizeof(b), 0x100), EINVAL);
	CHECK_ERR("GRND_INSECURE|GRND_RANDOM gives EINVAL",
		  syscall(SYS_getrandom, b, sizeof(b),
			  GRND_INSECURE | GRND_RANDOM), EINVAL);
	CHECK_ERR("a bad pointer gives EFAULT",
		  syscall(SYS_getrandom, BAD_PTR, 16, 0), EFAULT);
	return done();
}
