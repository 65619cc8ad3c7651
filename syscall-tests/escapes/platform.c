/*
 * platform: the platform walls. App code must never make a host syscall of
 * its own choosing (invariant 1): not through the 32-bit entry points
 * (int 0x80, sysenter), the vsyscall page, a forged copy of the systrap
 * stub's page, a jump into the real stub page, or a patch of the stub or
 * the vDSO through /proc/self/mem.
 *
 * How "ran on the host" shows: a getpid that ran on the host answers with
 * the stub's host pid, not the sandbox pid getpid() gives; a host mmap
 * leaves memory the sandbox's /proc/self/maps does not list; a host
 * mprotect makes the stub page writable. Natively there is no wall: most of
 * these are "native: n/a" (int 0x80's marker still shows the host write).
 */
#include "escape.h"

#include <setjmp.h>
#include <sys/mman.h>
#include <time.h>

#define STUB_PAGE 0x7ff000000000UL
#define PAGE 4096UL

static char m_int80[256];
static sigjmp_buf guard_jmp;

static void guard_handler(int sig)
{
	siglongjmp(guard_jmp, sig);
}

/* Installs guard_handler for the faults a probe may take. */
static void guard_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = guard_handler;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGTRAP, &sa, NULL);
}

/* Copies a page at addr into out; 0 when readable, else the signal. */
static int read_page(unsigned long addr, unsigned char *out)
{
	int sig;

	guard_signals();
	sig = sigsetjmp(guard_jmp, 1);
	if (sig == 0)
		memcpy(out, (const void *)addr, PAGE);
	return sig;
}

/* Writes one byte at addr; 0 when the write went through, else the signal. */
static int write_byte(unsigned long addr, unsigned char b)
{
	int sig;

	guard_signals();
	sig = sigsetjmp(guard_jmp, 1);
	if (sig == 0)
		*(volatile unsigned char *)addr = b;
	return sig;
}

static long int80(long nr, long a, long b)
{
	long r;

	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "a"(nr), "b"(a), "c"(b)
			 : "memory", "r8", "r9", "r10", "r11");
	return r;
}

/* A 32-bit getpid that ran on the host gives the stub's host pid. */
static enum verdict int80_getpid(void)
{
	long r = int80(20, 0, 0);
	pid_t me = getpid();

	detail("int 0x80 getpid = %ld, getpid() = %d", r, (int)me);
	return (r < 0 || r == me) ? HELD : ESCAPED;
}

/* A 32-bit creat of a /tmp marker (the path in low memory). */
static enum verdict int80_creat(void)
{
	char *low = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	long r;

	if (low == MAP_FAILED) {
		detail("mmap MAP_32BIT: %s", strerror(errno));
		return REFUSED;
	}
	snprintf(low, PAGE, "%s", m_int80);
	r = int80(8, (long)(uintptr_t)low, 0644);
	detail("int 0x80 creat %s = %ld", m_int80, r);
	return r >= 0 ? WROTE : REFUSED;
}

/* sysenter from 64-bit code: a 32-bit getpid that never returns cleanly. */
static enum verdict sysenter_getpid(void)
{
	long r;

	__asm__ volatile("mov %%rsp, %%rbp\n\tsysenter"
			 : "=a"(r)
			 : "a"(20L)
			 : "memory", "rbp", "rcx", "rdx", "r11");
	detail("sysenter getpid returned %ld, getpid() = %d", r, (int)getpid());
	return (r < 0 || r == getpid()) ? HELD : ESCAPED;
}

/* The vsyscall page's time(): at most a host time read, never more. */
static enum verdict vsyscall_time(void)
{
	long (*vtime)(long *) = (long (*)(long *))0xffffffffff600400UL;
	long t = 0, r;

	r = vtime(&t);
	detail("vsyscall time() = %ld (time(NULL) = %ld)", r, (long)time(NULL));
	return HELD;
}

/* Runs `syscall; ret` with rax = nr at code. */
static long call_syscall_at(void *code, long nr, long a1, long a2, long a3,
			    long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long r;

	__asm__ volatile("call *%[code]"
			 : "=a"(r), "+r"(r10), "+r"(r8), "+r"(r9)
			 : [code] "r"(code), "a"(nr), "D"(a1), "S"(a2), "d"(a3)
			 : "memory", "rcx", "r11");
	return r;
}

/* A `syscall` in a forged copy of the stub's page, elsewhere in memory. */
static enum verdict forged_stub(void)
{
	static unsigned char copy[PAGE];
	unsigned char *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t off = 0;
	int copied = read_page(STUB_PAGE, copy) == 0;
	long r;

	if (page == MAP_FAILED) {
		detail("mmap: %s", strerror(errno));
		return REFUSED;
	}
	if (copied) {
		memcpy(page, copy, PAGE);
		for (off = 0; off + 2 < PAGE; off++)
			if (page[off] == 0x0f && page[off + 1] == 0x05)
				break;
		if (off + 2 >= PAGE)
			off = 0;
	}
	page[off] = 0x0f;
	page[off + 1] = 0x05;
	page[off + 2] = 0xc3;
	r = call_syscall_at(page + off, SYS_getpid, 0, 0, 0, 0, 0, 0);
	detail("%s page: syscall at +%#zx: getpid = %ld, getpid() = %d",
	       copied ? "copied stub" : "crafted", off, r, (int)getpid());
	return (r < 0 || r == getpid()) ? HELD : ESCAPED;
}

/* Whether /proc/self/maps lists an area containing addr. */
static int maps_lists(unsigned long addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long start, end;
	char line[512];
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 &&
		    addr >= start && addr < end)
			found = 1;
	fclose(f);
	return found;
}

#define PROBE_ADDR 0x6f0000000000UL

/*
 * One jump into the real stub page at a `0f 05` site with rax = nr, in a
 * child of its own. Whatever the stub code does next, the child regains
 * control through a signal (or dies, or exits) and judges: for mmap, memory
 * at PROBE_ADDR that the sandbox's maps do not list came from the host; for
 * mprotect, a writable stub page; for munmap, a stub page gone.
 */
static enum verdict jump_once(long nr, unsigned long site,
			      const unsigned char *before, char *fate,
			      size_t fate_len)
{
	static unsigned char after[PAGE];
	int sig;
	pid_t pid;
	int status;
	int pipefd[2];
	char v = '0' + HELD;

	if (pipe(pipefd) != 0)
		return HELD;
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		alarm(2);
		guard_signals();
		sig = sigsetjmp(guard_jmp, 1);
		if (sig == 0) {
			if (nr == SYS_mmap)
				call_syscall_at((void *)site, nr, PROBE_ADDR,
						PAGE, PROT_READ | PROT_WRITE,
						MAP_PRIVATE | MAP_ANONYMOUS |
							MAP_FIXED,
						-1, 0);
			else if (nr == SYS_mprotect)
				call_syscall_at((void *)site, nr, STUB_PAGE,
						PAGE,
						PROT_READ | PROT_WRITE |
							PROT_EXEC,
						0, 0, 0);
			else
				call_syscall_at((void *)site, nr, STUB_PAGE,
						PAGE, 0, 0, 0, 0);
		}
		/* Back in our code, by return or by signal. */
		if (nr == SYS_mmap && !maps_lists(PROBE_ADDR) &&
		    write_byte(PROBE_ADDR, 1) == 0)
			v = '0' + ESCAPED;
		if (nr == SYS_mprotect && write_byte(STUB_PAGE + PAGE - 1,
						     before[PAGE - 1]) == 0)
			v = '0' + ESCAPED;
		if (nr == SYS_munmap && (read_page(STUB_PAGE, after) != 0 ||
					 memcmp(after, before, PAGE) != 0))
			v = '0' + ESCAPED;
		if (write(pipefd[1], &v, 1) != 1)
			_exit(3);
		_exit(0);
	}
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		return HELD;
	}
	if (read(pipefd[0], &v, 1) != 1)
		v = '0' + HELD;
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status))
		snprintf(fate, fate_len, "%s", sig_name(WTERMSIG(status)));
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		snprintf(fate, fate_len, "back");
	else
		snprintf(fate, fate_len, "exit %d",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return (enum verdict)(v - '0');
}

static enum verdict jump_into_stub(long nr, const char *what)
{
	static unsigned char before[PAGE];
	unsigned long sites[4];
	char fates[4][24];
	int nsites = 0, escaped = 0;

	if (read_page(STUB_PAGE, before) != 0) {
		detail("no readable stub page at %#lx", STUB_PAGE);
		return HELD;
	}
	for (unsigned long off = 0; off + 1 < PAGE && nsites < 4; off++)
		if (before[off] == 0x0f && before[off + 1] == 0x05)
			sites[nsites++] = STUB_PAGE + off;
	for (int i = 0; i < nsites; i++)
		if (jump_once(nr, sites[i], before, fates[i],
			      sizeof(fates[i])) == ESCAPED)
			escaped++;
	/* The stub page of this process is as it was, and we still run. */
	if (nsites > 0 && getpid() > 0) {
		static unsigned char now[PAGE];

		if (read_page(STUB_PAGE, now) != 0 ||
		    memcmp(now, before, PAGE) != 0)
			escaped++;
	}
	detail("%s through %d `syscall` sites of the stub page (+%#lx %s, "
	       "+%#lx %s, ...): %d escaped",
	       what, nsites, nsites > 0 ? sites[0] - STUB_PAGE : 0,
	       nsites > 0 ? fates[0] : "-",
	       nsites > 1 ? sites[1] - STUB_PAGE : 0,
	       nsites > 1 ? fates[1] : "-", escaped);
	return escaped ? ESCAPED : HELD;
}

static enum verdict jump_mmap(void)
{
	return jump_into_stub(SYS_mmap, "mmap");
}

static enum verdict jump_munmap(void)
{
	return jump_into_stub(SYS_munmap, "munmap");
}

static enum verdict jump_mprotect(void)
{
	return jump_into_stub(SYS_mprotect, "mprotect");
}

/* Writes byte b at addr through /proc/self/mem; 0 on success, else errno. */
static int mem_write(unsigned long addr, unsigned char b)
{
	int fd = open("/proc/self/mem", O_RDWR);
	int err = 0;

	if (fd < 0)
		return errno;
	if (pwrite(fd, &b, 1, (off_t)addr) != 1)
		err = errno ? errno : EIO;
	close(fd);
	return err;
}

/* Patching the stub page through /proc/self/mem. */
static enum verdict mem_patch_stub(void)
{
	static unsigned char before[PAGE], after[PAGE];
	int err;

	if (read_page(STUB_PAGE, before) != 0) {
		detail("no readable stub page at %#lx", STUB_PAGE);
		return HELD;
	}
	err = mem_write(STUB_PAGE + 16, (unsigned char)(before[16] ^ 0xff));
	if (read_page(STUB_PAGE, after) != 0) {
		detail("stub page unreadable after the write (%s)",
		       strerror(err));
		return ESCAPED;
	}
	detail("pwrite /proc/self/mem at the stub page: %s; page %s",
	       err ? strerror(err) : "accepted",
	       memcmp(before, after, PAGE) ? "CHANGED" : "unchanged");
	return memcmp(before, after, PAGE) ? ESCAPED : HELD;
}

static unsigned long vdso_base(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long start, end, base = 0;
	char line[512];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]") &&
		    sscanf(line, "%lx-%lx", &start, &end) == 2)
			base = start;
	fclose(f);
	return base;
}

/*
 * Patches the vDSO through /proc/self/mem in a child; the patch may land in
 * the child's own copy, but another process's vDSO (ours) must not change.
 */
static enum verdict mem_patch_vdso(void)
{
	unsigned long base = vdso_base();
	unsigned char before, now;
	pid_t pid;
	int status, err = -1;
	int pipefd[2];

	if (!base) {
		detail("no [vdso] in /proc/self/maps");
		return HELD;
	}
	before = *(volatile unsigned char *)(base + 64);
	if (pipe(pipefd) != 0)
		return HELD;
	pid = fork();
	if (pid == 0) {
		err = mem_write(base + 64, (unsigned char)(before ^ 0xff));
		if (write(pipefd[1], &err, sizeof(err)) != sizeof(err))
			_exit(3);
		_exit(0);
	}
	close(pipefd[1]);
	if (pid > 0) {
		if (read(pipefd[0], &err, sizeof(err)) != sizeof(err))
			err = -1;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	close(pipefd[0]);
	now = *(volatile unsigned char *)(base + 64);
	detail("a child's pwrite of its vDSO: %s; this process's vDSO %s",
	       err == 0 ? "accepted" : err > 0 ? strerror(err) : "no answer",
	       now == before ? "unchanged" : "CHANGED");
	return now == before ? HELD : ESCAPED;
}

int main(int argc, char **argv)
{
	escape_init(argc, argv);
	marker_path(m_int80, sizeof(m_int80), "int80");
	attack("int80_getpid", NATIVE_NA, NULL, int80_getpid, 10);
	attack("int80_creat_host_file", NATIVE_ESCAPES, m_int80, int80_creat, 10);
	attack("sysenter_getpid", NATIVE_NA, NULL, sysenter_getpid, 10);
	attack("vsyscall_page_time", NATIVE_NA, NULL, vsyscall_time, 10);
	attack("syscall_in_forged_stub_page", NATIVE_NA, NULL, forged_stub, 10);
	attack("jump_into_stub_mmap", NATIVE_NA, NULL, jump_mmap, 20);
	attack("jump_into_stub_munmap", NATIVE_NA, NULL, jump_munmap, 20);
	attack("jump_into_stub_mprotect", NATIVE_NA, NULL, jump_mprotect, 20);
	attack("proc_self_mem_patch_stub", NATIVE_NA, NULL, mem_patch_stub, 10);
	attack("proc_self_mem_patch_vdso", NATIVE_NA, NULL, mem_patch_vdso, 10);
	return escape_done();
}
