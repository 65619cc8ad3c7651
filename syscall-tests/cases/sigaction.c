/* rt_sigaction(2): install, read back, restore; SIGKILL/SIGSTOP and bad
 * arguments are refused. No signal is ever delivered. Raw syscalls with the
 * kernel's struct, so glibc adds nothing (such as SA_RESTORER). */
#include "tap.h"

#include <signal.h>

struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

#define BIT(sig) (1ULL << ((sig) - 1))

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000 /* asm/signal.h; glibc hides it */
#endif

static void handler(int sig)
{
	(void)sig;
}

static void restorer(void)
{
}

static long sigaction_raw(int sig, const struct kernel_sigaction *act,
			  struct kernel_sigaction *old, size_t size)
{
	return syscall(SYS_rt_sigaction, sig, act, old, size);
}

int main(void)
{
	struct kernel_sigaction act, old, back, dfl;

	plan(18);

	memset(&act, 0, sizeof(act));
	act.handler = handler;
	act.flags = SA_RESTORER | SA_RESTART | SA_SIGINFO;
	act.restorer = restorer;
	act.mask = BIT(SIGUSR2) | BIT(SIGTERM);
	CHECK("installing a SIGUSR1 handler succeeds",
	      sigaction_raw(SIGUSR1, &act, &old, 8), 0, 0);
	CHECK_TRUE("the previous action was SIG_DFL",
		   old.handler == SIG_DFL);
	CHECK("reading it back succeeds",
	      sigaction_raw(SIGUSR1, NULL, &back, 8), 0, 0);
	CHECK_TRUE("the handler reads back", back.handler == handler);
	okf(back.flags == act.flags, "the flags read back",
	    "expected %#lx, got %#lx", act.flags, back.flags);
	CHECK_TRUE("the restorer reads back", back.restorer == restorer);
	okf(back.mask == act.mask, "the mask reads back",
	    "expected %#llx, got %#llx", (unsigned long long)act.mask,
	    (unsigned long long)back.mask);

	act.mask = BIT(SIGKILL) | BIT(SIGSTOP) | BIT(SIGUSR2);
	sigaction_raw(SIGUSR1, &act, NULL, 8);
	sigaction_raw(SIGUSR1, NULL, &back, 8);
	okf(back.mask == BIT(SIGUSR2),
	    "SIGKILL and SIGSTOP are dropped from sa_mask",
	    "got %#llx", (unsigned long long)back.mask);

	memset(&dfl, 0, sizeof(dfl));
	dfl.handler = SIG_IGN;
	sigaction_raw(SIGUSR1, &dfl, &old, 8);
	sigaction_raw(SIGUSR1, NULL, &back, 8);
	CHECK_TRUE("SIG_IGN reads back and the old action is returned",
		   back.handler == SIG_IGN && old.handler == handler);
	dfl.handler = SIG_DFL;
	sigaction_raw(SIGUSR1, &dfl, NULL, 8);
	sigaction_raw(SIGUSR1, NULL, &back, 8);
	CHECK_TRUE("SIG_DFL is restored", back.handler == SIG_DFL);

	CHECK_ERR("setting SIGKILL gives EINVAL",
		  sigaction_raw(SIGKILL, &act, NULL, 8), EINVAL);
	CHECK_ERR("setting SIGSTOP gives EINVAL",
		  sigaction_raw(SIGSTOP, &act, NULL, 8), EINVAL);
	CHECK("reading SIGKILL's action is allowed",
	      sigaction_raw(SIGKILL, NULL, &back, 8), 0, 0);
	CHECK_ERR("signal 0 gives EINVAL", sigaction_raw(0, NULL, &back, 8),
		  EINVAL);
	CHECK_ERR("signal 65 gives EINVAL", sigaction_raw(65, NULL, &back, 8),
		  EINVAL);
	CHECK_ERR("sigsetsize 4 gives EINVAL",
		  sigaction_raw(SIGUSR1, NULL, &back, 4), EINVAL);
	CHECK_ERR("a bad new-action pointer gives EFAULT",
		  sigaction_raw(SIGUSR1, BAD_PTR, NULL, 8), EFAULT);
	CHECK_ERR("a bad old-action pointer gives EFAULT",
		  sigaction_raw(SIGUSR1, NULL, BAD_PTR, 8), EFAULT);
	return done();
}
