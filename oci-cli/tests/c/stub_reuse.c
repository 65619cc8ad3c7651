/*
 * A process that leaves traces behind, and one that looks for them.
 * `stub_reuse plant`: maps a page at a fixed address and writes a pattern
 * there, sets unusual FP control state (MXCSR, the x87 control word) and
 * exits. `stub_reuse probe`: checks that its FP control state is the
 * fresh one, then reads the fixed address, which must fault (its SIGSEGV
 * handler exits 0). Exits 1, saying what it found, on anything left over.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SPOT ((void *)0x5a5a0000000UL)
#define PATTERN 0x5ec4e75ec4e75ec4ULL

static void on_segv(int sig)
{
	(void)sig;
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (strcmp(argv[1], "plant") == 0) {
		void *p = mmap(SPOT, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != SPOT) {
			perror("mmap");
			return 2;
		}
		*(volatile uint64_t *)p = PATTERN;
		unsigned mx = 0x7f80; /* round toward zero, all exceptions masked */
		unsigned short cw = 0x0c7f; /* x87: round toward zero */
		__asm__ volatile("ldmxcsr %0" : : "m"(mx));
		__asm__ volatile("fldcw %0" : : "m"(cw));
		_exit(0);
	}
	if (strcmp(argv[1], "probe") == 0) {
		unsigned mx;
		unsigned short cw;
		__asm__ volatile("stmxcsr %0" : "=m"(mx));
		__asm__ volatile("fnstcw %0" : "=m"(cw));
		if (mx != 0x1f80 || cw != 0x037f) {
			printf("FP control state left over: mxcsr %#x, x87 control word %#x\n", mx, cw);
			return 1;
		}
		signal(SIGSEGV, on_segv);
		uint64_t v = *(volatile uint64_t *)SPOT;
		printf("read %#llx at %p: a page of another process\n", (unsigned long long)v, SPOT);
		return 1;
	}
	return 2;
}
