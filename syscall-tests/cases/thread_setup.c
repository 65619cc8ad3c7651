/* The calls glibc makes while starting a thread: set_tid_address(2),
 * set_robust_list(2)/get_robust_list(2) and rseq(2). */
#include "tap.h"

#include <linux/futex.h>

struct rseq_area {
	uint32_t cpu_id_start;
	uint32_t cpu_id;
	uint64_t rseq_cs;
	uint32_t flags;
	uint32_t node_id;
	uint32_t mm_cid;
	char end[];
} __attribute__((aligned(32)));

int main(void)
{
	static struct rseq_area area;
	static int clear_tid;
	struct robust_list_head *head = NULL;
	size_t len = 0;
	long r;
	int e;

	plan(10);

	CHECK_EQ("set_tid_address returns the tid",
		 syscall(SYS_set_tid_address, &clear_tid), syscall(SYS_gettid));

	CHECK("get_robust_list of the calling thread succeeds",
	      syscall(SYS_get_robust_list, 0, &head, &len), 0, 0);
	CHECK_EQ("the length is sizeof(struct robust_list_head)", len,
		 sizeof(struct robust_list_head));
	CHECK_ERR("set_robust_list with a bad length gives EINVAL",
		  syscall(SYS_set_robust_list, head, len + 1), EINVAL);
	CHECK("set_robust_list with the right length succeeds",
	      syscall(SYS_set_robust_list, head, len), 0, 0);
	CHECK_TRUE("get_robust_list reads it back",
		   syscall(SYS_get_robust_list, 0, &head, &len) == 0 &&
			   len == sizeof(struct robust_list_head));
	CHECK_ERR("get_robust_list into a bad pointer gives EFAULT",
		  syscall(SYS_get_robust_list, 0, BAD_PTR, &len), EFAULT);
	CHECK_ERR("get_robust_list of a nonexistent thread gives ESRCH",
		  syscall(SYS_get_robust_list, 0x3ffffff0, &head, &len), ESRCH);

	/* glibc has usually registered its own rseq area already, so Linux
	 * answers EBUSY or EINVAL here; a kernel without rseq says ENOSYS. */
	errno = 0;
	r = syscall(SYS_rseq, &area, sizeof(area), 0, 0x53053053);
	e = errno;
	okf(r == 0 || (r == -1 && (e == EBUSY || e == EINVAL || e == ENOSYS)),
	    "rseq registration returns 0, EBUSY, EINVAL or ENOSYS",
	    "got %ld errno %s", r, tap_errname(e));
	errno = 0;
	r = syscall(SYS_rseq, &area, sizeof(area), 0x4, 0x53053053);
	e = errno;
	okf(r == -1 && (e == EINVAL || e == ENOSYS),
	    "rseq with unknown flags gives EINVAL (or ENOSYS)",
	    "got %ld errno %s", r, tap_errname(e));
	return done();
}
