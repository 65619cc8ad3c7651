/* sched_getaffinity(2) and sched_yield(2). */
#include "tap.h"

#include <sched.h>

int main(void)
{
	cpu_set_t set;
	long size;

	plan(9);

	CPU_ZERO(&set);
	CHECK_OKV("sched_getaffinity succeeds",
		  syscall(SYS_sched_getaffinity, 0, sizeof(set), &set), size);
	CHECK_TRUE("the raw call returns a size that is a multiple of 8",
		   size > 0 && size % 8 == 0 && size <= (long)sizeof(set));
	CHECK_TRUE("at least one CPU is set", CPU_COUNT(&set) >= 1);
	CHECK("the tid names the calling thread too",
	      syscall(SYS_sched_getaffinity, syscall(SYS_gettid), sizeof(set),
		      &set) == size, 1, 0);
	CHECK_ERR("a size that is not a multiple of 8 gives EINVAL",
		  syscall(SYS_sched_getaffinity, 0, 4, &set), EINVAL);
	CHECK_ERR("a zero size gives EINVAL",
		  syscall(SYS_sched_getaffinity, 0, 0, &set), EINVAL);
	CHECK_ERR("a bad pointer gives EFAULT",
		  syscall(SYS_sched_getaffinity, 0, sizeof(set), BAD_PTR),
		  EFAULT);
	CHECK_ERR("a nonexistent pid gives ESRCH",
		  syscall(SYS_sched_getaffinity, 0x3ffffff0, sizeof(set), &set),
		  ESRCH);
	CHECK("sched_yield returns 0", sched_yield(), 0, 0);
	return done();
}
