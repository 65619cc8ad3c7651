/* rt_sigprocmask(2) and rt_sigpending(2): block, unblock, set, read back;
 * SIGKILL/SIGSTOP cannot be blocked; bad arguments are refused. No signal
 * is ever delivered. */
#include "tap.h"

#include <signal.h>

#define BIT(sig) (1ULL << ((sig) - 1))

static long mask_raw(int how, const uint64_t *set, uint64_t *old,
		     size_t size)
{
	return syscall(SYS_rt_sigprocmask, how, set, old, size);
}

int main(void)
{
	uint64_t set, old, cur, orig, pending;

	plan(16);

	CHECK("reading the mask succeeds", mask_raw(SIG_BLOCK, NULL, &orig, 8),
	      0, 0);
	set = BIT(SIGUSR1);
	CHECK("SIG_BLOCK of SIGUSR1 succeeds",
	      mask_raw(SIG_BLOCK, &set, &old, 8), 0, 0);
	CHECK_TRUE("the old mask is returned", old == orig);
	mask_raw(SIG_BLOCK, NULL, &cur, 8);
	CHECK_TRUE("SIGUSR1 is now blocked", cur == (orig | BIT(SIGUSR1)));
	set = BIT(SIGUSR2);
	mask_raw(SIG_BLOCK, &set, NULL, 8);
	mask_raw(SIG_BLOCK, NULL, &cur, 8);
	CHECK_TRUE("SIG_BLOCK adds to the mask",
		   cur == (orig | BIT(SIGUSR1) | BIT(SIGUSR2)));
	set = BIT(SIGUSR1);
	CHECK("SIG_UNBLOCK succeeds", mask_raw(SIG_UNBLOCK, &set, NULL, 8), 0,
	      0);
	mask_raw(SIG_BLOCK, NULL, &cur, 8);
	CHECK_TRUE("SIG_UNBLOCK removes from the mask",
		   cur == ((orig | BIT(SIGUSR2)) & ~BIT(SIGUSR1)));
	set = BIT(SIGTERM);
	CHECK("SIG_SETMASK succeeds", mask_raw(SIG_SETMASK, &set, NULL, 8), 0,
	      0);
	mask_raw(SIG_BLOCK, NULL, &cur, 8);
	CHECK_TRUE("SIG_SETMASK replaces the mask", cur == BIT(SIGTERM));
	set = BIT(SIGKILL) | BIT(SIGSTOP) | BIT(SIGHUP);
	mask_raw(SIG_SETMASK, &set, NULL, 8);
	mask_raw(SIG_BLOCK, NULL, &cur, 8);
	okf(cur == BIT(SIGHUP), "SIGKILL and SIGSTOP cannot be blocked",
	    "got %#llx", (unsigned long long)cur);

	CHECK("rt_sigpending succeeds",
	      syscall(SYS_rt_sigpending, &pending, 8), 0, 0);
	CHECK_TRUE("nothing is pending", pending == 0);

	CHECK_ERR("a bad how gives EINVAL", mask_raw(99, &set, NULL, 8),
		  EINVAL);
	CHECK("a bad how is ignored when the set is NULL",
	      mask_raw(99, NULL, &cur, 8), 0, 0);
	CHECK_ERR("sigsetsize 4 gives EINVAL",
		  mask_raw(SIG_BLOCK, &set, NULL, 4), EINVAL);
	CHECK_ERR("a bad set pointer gives EFAULT",
		  mask_raw(SIG_BLOCK, BAD_PTR, NULL, 8), EFAULT);

	mask_raw(SIG_SETMASK, &orig, NULL, 8);
	return done();
}
