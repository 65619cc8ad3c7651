/* Timers that signal: alarm(2), setitimer(2)/getitimer(2) (ITIMER_REAL,
 * ITIMER_VIRTUAL, ITIMER_PROF), POSIX timers (timer_create(2) with
 * SIGEV_SIGNAL, SIGEV_NONE and SIGEV_THREAD_ID, timer_settime(2) relative
 * and absolute, timer_gettime(2), timer_getoverrun(2), timer_delete(2)) and
 * signalfd4(2). Signals are only ever awaited in forked children under a
 * deadline; the two one-second alarm checks run in the background while
 * the rest goes on. Only relations between times are compared. */
#include "tap.h"
#include "proc.h"

#include <pthread.h>
#include <sys/signalfd.h>
#include <sys/time.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static volatile sig_atomic_t hits;
static volatile pid_t handler_tid;

static void on_signal(int sig)
{
	(void)sig;
	hits++;
	handler_tid = tid_self();
}

static void handle(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(sig, &sa, NULL);
}

static void set_blocked(int sig, int how)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(how, &set, NULL);
}

/* Waits up to ms for hits to reach n, sleeping in short naps that handlers
 * interrupt. Returns the milliseconds it took. */
static long long wait_hits(int n, int ms)
{
	long long start = now_ns();

	while (hits < n && ms_since(start) < ms)
		sleep_us(1000);
	return ms_since(start);
}

static long long tv_us(struct timeval tv)
{
	return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

static long long ts_ns(struct timespec ts)
{
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- alarm --------------------------------------------------------------- */

/* Background child: 0 when a handled alarm(1) fires after 0.9-1.9 s. */
static int alarm_handled_child(void)
{
	long long ms;

	handle(SIGALRM);
	alarm(1);
	ms = wait_hits(1, 2500);
	if (hits == 0)
		return 2;
	return ms < 900 ? 1 : ms > 1900 ? 3 : 0;
}

/* Background child: alarm(1) with the default action must kill it. */
static int alarm_default_child(void)
{
	alarm(1);
	sleep_ms(2500);
	return 2;
}

static pid_t background(int (*fn)(void))
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(fn());
	return pid;
}

static void alarm_scenario(void *arg)
{
	struct itimerval it;
	unsigned r;

	(void)arg;
	handle(SIGALRM); /* a stray alarm must not kill the child */
	S_EQ("alarm returns 0 when no alarm was set", alarm(10), 0);
	S_EQ("alarm returns the previous alarm's remaining seconds", alarm(5),
	     10);
	memset(&it, 0, sizeof(it));
	getitimer(ITIMER_REAL, &it);
	s_okf(tv_us(it.it_value) > 4000000 && tv_us(it.it_value) <= 5000000 &&
		      tv_us(it.it_interval) == 0,
	      "the alarm is the ITIMER_REAL timer (getitimer sees it)",
	      "value %lld us, interval %lld us", tv_us(it.it_value),
	      tv_us(it.it_interval));
	r = alarm(0);
	S_EQ("alarm(0) cancels and returns the remaining seconds", r, 5);
	memset(&it, 0xff, sizeof(it));
	getitimer(ITIMER_REAL, &it);
	S_TRUE("after alarm(0) ITIMER_REAL is disarmed",
	       tv_us(it.it_value) == 0 && tv_us(it.it_interval) == 0);
}

/* ---- setitimer ------------------------------------------------------------ */

static void itimer_scenario(void *arg)
{
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } };
	struct itimerval old, cur, zero = { { 0, 0 }, { 0, 0 } };
	struct itimerval cpu = { { 0, 0 }, { 0, 5000 } };
	long long ms;
	int before;

	(void)arg;
	handle(SIGALRM);
	hits = 0;
	memset(&old, 0xff, sizeof(old));
	S_CHECK("setitimer arms ITIMER_REAL with an interval",
		setitimer(ITIMER_REAL, &it, &old), 0, 0);
	S_TRUE("the old value was disarmed",
	       tv_us(old.it_value) == 0 && tv_us(old.it_interval) == 0);
	memset(&cur, 0, sizeof(cur));
	getitimer(ITIMER_REAL, &cur);
	s_okf(tv_us(cur.it_interval) == 20000 && tv_us(cur.it_value) > 0 &&
		      tv_us(cur.it_value) <= 20000,
	      "getitimer reads back the interval and a remaining value within it",
	      "interval %lld us, value %lld us", tv_us(cur.it_interval),
	      tv_us(cur.it_value));
	ms = wait_hits(3, 1500);
	s_okf(hits >= 3 && ms >= 40,
	      "the interval timer fires repeatedly (3 SIGALRM, not before 40 ms)",
	      "%d signals in %lld ms", (int)hits, ms);
	memset(&old, 0, sizeof(old));
	S_CHECK("setitimer with a zero value disarms",
		setitimer(ITIMER_REAL, &zero, &old), 0, 0);
	S_EQ("disarming returns the old interval", tv_us(old.it_interval),
	     20000);
	before = hits;
	sleep_ms(60);
	S_EQ("no signal arrives after disarming", hits - before, 0);
	it.it_value.tv_usec = 1000000;
	S_CHECK_ERR("setitimer with tv_usec of a million gives EINVAL",
		    setitimer(ITIMER_REAL, &it, NULL), EINVAL);
	S_CHECK_ERR("getitimer of an unknown timer gives EINVAL",
		    syscall(SYS_getitimer, 5, &cur), EINVAL);

	handle(SIGVTALRM);
	hits = 0;
	setitimer(ITIMER_VIRTUAL, &cpu, NULL);
	{
		long long start = now_ns();
		volatile unsigned long spin = 0;

		while (hits == 0 && ms_since(start) < 1000)
			spin++;
	}
	S_EQ("ITIMER_VIRTUAL sends SIGVTALRM while we burn CPU", hits, 1);
	handle(SIGPROF);
	hits = 0;
	setitimer(ITIMER_PROF, &cpu, NULL);
	{
		long long start = now_ns();
		volatile unsigned long spin = 0;

		while (hits == 0 && ms_since(start) < 1000)
			spin++;
	}
	S_EQ("ITIMER_PROF sends SIGPROF while we burn CPU", hits, 1);
}

/* ---- POSIX timers --------------------------------------------------------- */

static long timer_make(clockid_t clock, int notify, int sig, int value,
		       pid_t tid, int *id)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = notify;
	sev.sigev_signo = sig;
	sev.sigev_value.sival_int = value;
	if (notify == SIGEV_THREAD_ID)
		sev.sigev_notify_thread_id = tid;
	*id = -1;
	return syscall(SYS_timer_create, clock, &sev, id);
}

static long timer_arm(int id, int flags, long long value_ns,
		      long long interval_ns, struct itimerspec *old)
{
	struct itimerspec its;

	its.it_value.tv_sec = value_ns / 1000000000LL;
	its.it_value.tv_nsec = value_ns % 1000000000LL;
	its.it_interval.tv_sec = interval_ns / 1000000000LL;
	its.it_interval.tv_nsec = interval_ns % 1000000000LL;
	return syscall(SYS_timer_settime, id, flags, &its, old);
}

/* Waits up to ms for sig (blocked) and returns it, or -1. */
static int take(int sig, siginfo_t *info, int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	memset(info, 0, sizeof(*info));
	return sigtimedwait(&set, info, &ts);
}

static void posix_timer_scenario(void *arg)
{
	struct itimerspec cur, old;
	struct timespec now;
	siginfo_t info;
	int id = -1, id2 = -1, r;
	long long t0;
	long overrun;

	(void)arg;
	set_blocked(SIGUSR1, SIG_BLOCK);
	S_CHECK("timer_create(CLOCK_MONOTONIC, SIGEV_SIGNAL) succeeds",
		timer_make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 99, 0, &id),
		0, 0);
	S_CHECK("timer_settime arms it 10 ms from now",
		timer_arm(id, 0, 10000000, 0, NULL), 0, 0);
	t0 = now_ns();
	r = take(SIGUSR1, &info, 2000);
	s_okf(r == SIGUSR1 && ms_since(t0) < 1500,
	      "the timer's signal arrives", "sigtimedwait returned %d errno %s",
	      r, tap_errname(r == -1 ? errno : 0));
	s_okf(info.si_code == SI_TIMER && info.si_value.sival_int == 99,
	      "its siginfo has SI_TIMER and the sigev_value",
	      "si_code %d, si_value %d", info.si_code,
	      info.si_value.sival_int);

	clock_gettime(CLOCK_MONOTONIC, &now);
	S_CHECK("timer_settime with TIMER_ABSTIME arms it at now + 10 ms",
		timer_arm(id, TIMER_ABSTIME, ts_ns(now) + 10000000, 0, NULL),
		0, 0);
	S_EQ("the absolute timer fires", take(SIGUSR1, &info, 2000), SIGUSR1);
	timer_arm(id, TIMER_ABSTIME, ts_ns(now) - 1000000000LL > 0
					     ? ts_ns(now) - 1000000000LL
					     : 1,
		  0, NULL);
	S_EQ("an absolute time in the past fires at once",
	     take(SIGUSR1, &info, 500), SIGUSR1);

	timer_arm(id, 0, 1000000000LL, 0, NULL);
	memset(&cur, 0, sizeof(cur));
	S_CHECK("timer_gettime succeeds",
		syscall(SYS_timer_gettime, id, &cur), 0, 0);
	s_okf(ts_ns(cur.it_value) > 0 &&
		      ts_ns(cur.it_value) <= 1000000000LL &&
		      ts_ns(cur.it_interval) == 0,
	      "timer_gettime shows the remaining time (0, 1 s] and no interval",
	      "value %lld ns, interval %lld ns", ts_ns(cur.it_value),
	      ts_ns(cur.it_interval));
	memset(&old, 0, sizeof(old));
	timer_arm(id, 0, 0, 0, &old);
	memset(&cur, 0xff, sizeof(cur));
	syscall(SYS_timer_gettime, id, &cur);
	S_TRUE("disarming returns the old value and leaves it at zero",
	       ts_ns(old.it_value) > 0 && ts_ns(cur.it_value) == 0);

	/* 1 ms period while the signal stays queued: expirations overrun. */
	timer_arm(id, 0, 1000000, 1000000, NULL);
	sleep_ms(30);
	r = take(SIGUSR1, &info, 1000);
	overrun = syscall(SYS_timer_getoverrun, id);
	timer_arm(id, 0, 0, 0, NULL); /* (this resets the overrun count) */
	s_okf(r == SIGUSR1 && info.si_overrun > 0,
	      "a periodic timer whose signal stays queued reports si_overrun > 0",
	      "sigtimedwait %d, si_overrun %d", r, info.si_overrun);
	s_okf(overrun > 0,
	      "timer_getoverrun reports the overruns of the last delivery",
	      "got %ld", overrun);
	take(SIGUSR1, &info, 0);

	S_CHECK("timer_delete succeeds", syscall(SYS_timer_delete, id), 0, 0);
	S_CHECK_ERR("timer_settime on a deleted timer gives EINVAL",
		    timer_arm(id, 0, 1000000, 0, NULL), EINVAL);
	S_CHECK_ERR("timer_gettime on a deleted timer gives EINVAL",
		    syscall(SYS_timer_gettime, id, &cur), EINVAL);
	S_CHECK_ERR("timer_delete twice gives EINVAL",
		    syscall(SYS_timer_delete, id), EINVAL);
	S_CHECK_ERR("timer_create with a bad clock gives EINVAL",
		    timer_make(99, SIGEV_SIGNAL, SIGUSR1, 0, 0, &id2), EINVAL);
	S_CHECK_ERR("timer_create with a bad signal number gives EINVAL",
		    timer_make(CLOCK_MONOTONIC, SIGEV_SIGNAL, 99, 0, 0, &id2),
		    EINVAL);

	r = (int)timer_make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0, &id2);
	if (r == 0)
		timer_arm(id2, 0, 1000000000LL, 0, NULL);
	sleep_ms(5);
	memset(&cur, 0, sizeof(cur));
	syscall(SYS_timer_gettime, id2, &cur);
	s_okf(r == 0 && ts_ns(cur.it_value) > 0 &&
		      ts_ns(cur.it_value) < 1000000000LL,
	      "a SIGEV_NONE timer counts down (timer_gettime)",
	      "create %d, value %lld ns", r, ts_ns(cur.it_value));
	if (r == 0)
		syscall(SYS_timer_delete, id2);
}

/* ---- SIGEV_THREAD_ID --------------------------------------------------- */

static volatile pid_t target_tid;
static volatile int target_got, target_code;

static void *target_main(void *arg)
{
	siginfo_t info;

	(void)arg;
	set_blocked(SIGUSR2, SIG_BLOCK); /* pthread_sigmask: this thread */
	target_tid = tid_self();
	target_got = take(SIGUSR2, &info, 2000);
	target_code = info.si_code;
	return NULL;
}

static void thread_id_scenario(void *arg)
{
	long long start = now_ns();
	pthread_t th;
	int id = -1, r;

	(void)arg;
	handle(SIGUSR2); /* the main thread leaves SIGUSR2 unblocked */
	hits = 0;
	r = pthread_create(&th, NULL, target_main, NULL);
	while (r == 0 && target_tid == 0 && ms_since(start) < 2000)
		sleep_us(200);
	S_CHECK("timer_create(SIGEV_THREAD_ID) for one of our threads succeeds",
		target_tid ? timer_make(CLOCK_MONOTONIC, SIGEV_THREAD_ID,
					SIGUSR2, 5, target_tid, &id)
			   : -2,
		0, 0);
	if (id != -1)
		timer_arm(id, 0, 10000000, 0, NULL);
	if (r == 0)
		pthread_join(th, NULL);
	S_TRUE("the signal goes to that thread (SI_TIMER), though it blocks it",
	       target_got == SIGUSR2 && target_code == SI_TIMER);
	S_EQ("the main thread, with SIGUSR2 unblocked, does not get it", hits,
	     0);
	if (id != -1)
		syscall(SYS_timer_delete, id);
	S_CHECK_ERR("SIGEV_THREAD_ID naming a thread of another process gives EINVAL",
		    timer_make(CLOCK_MONOTONIC, SIGEV_THREAD_ID, SIGUSR2, 0,
			       getppid(), &id),
		    EINVAL);
}

/* ---- signalfd ------------------------------------------------------------ */

static void signalfd_scenario(void *arg)
{
	struct itimerval it = { { 0, 0 }, { 0, 20000 } };
	struct signalfd_siginfo ssi;
	struct pollfd pfd;
	sigset_t set;
	uint64_t raw;
	int fd, fd2, devnull;
	long n;

	(void)arg;
	set_blocked(SIGUSR1, SIG_BLOCK);
	set_blocked(SIGUSR2, SIG_BLOCK);
	set_blocked(SIGALRM, SIG_BLOCK);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	S_TRUE("signalfd for a blocked SIGUSR1 returns a descriptor", fd >= 0);
	S_CHECK_ERR("reading it with nothing pending gives EAGAIN",
		    read(fd, &ssi, sizeof(ssi)), EAGAIN);
	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	S_CHECK("poll says it is not readable", poll(&pfd, 1, 0), 0, 0);
	kill(getpid(), SIGUSR1);
	pfd.revents = 0;
	n = poll(&pfd, 1, 1000);
	S_TRUE("after kill, poll says it is readable",
	       n == 1 && (pfd.revents & POLLIN));
	memset(&ssi, 0, sizeof(ssi));
	S_CHECK("read returns one signalfd_siginfo",
		read(fd, &ssi, sizeof(ssi)), (long)sizeof(ssi), 0);
	S_TRUE("it carries ssi_signo, ssi_code SI_USER and the sender's pid",
	       ssi.ssi_signo == SIGUSR1 && ssi.ssi_code == SI_USER &&
		       ssi.ssi_pid == (uint32_t)getpid());
	sigpending(&set);
	S_TRUE("reading consumed the signal", !sigismember(&set, SIGUSR1));
	kill(getpid(), SIGUSR1);
	S_CHECK_ERR("a buffer smaller than signalfd_siginfo gives EINVAL",
		    read(fd, &ssi, sizeof(ssi) - 1), EINVAL);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	S_CHECK("signalfd on the existing descriptor replaces its mask",
		signalfd(fd, &set, 0), fd, 0);
	kill(getpid(), SIGUSR2);
	memset(&ssi, 0, sizeof(ssi));
	n = read(fd, &ssi, sizeof(ssi));
	S_TRUE("it now reads SIGUSR2",
	       n == (long)sizeof(ssi) && ssi.ssi_signo == SIGUSR2);
	S_CHECK_ERR("and no longer SIGUSR1, though it is pending",
		    read(fd, &ssi, sizeof(ssi)), EAGAIN);

	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	fd2 = signalfd(-1, &set, SFD_CLOEXEC);
	setitimer(ITIMER_REAL, &it, NULL);
	memset(&ssi, 0, sizeof(ssi));
	n = fd2 >= 0 && read_timeout(fd2, &ssi, sizeof(ssi), 2000) ==
				  (long)sizeof(ssi);
	S_TRUE("a blocking signalfd read returns the timer's SIGALRM",
	       n && ssi.ssi_signo == SIGALRM);

	raw = 1ULL << (SIGUSR1 - 1);
	S_CHECK_ERR("signalfd4 with a bad mask size gives EINVAL",
		    syscall(SYS_signalfd4, -1, &raw, 4, 0), EINVAL);
	S_CHECK_ERR("signalfd4 with unknown flags gives EINVAL",
		    syscall(SYS_signalfd4, -1, &raw, 8, 0x1), EINVAL);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	S_CHECK_ERR("signalfd on a descriptor that is not one gives EINVAL",
		    signalfd(devnull, &set, 0), EINVAL);
	close(devnull);
	close(fd);
	if (fd2 >= 0)
		close(fd2);
}

int main(void)
{
	pid_t handled, dflt;
	int st = 0;

	plan(56);

	handled = background(alarm_handled_child);
	dflt = background(alarm_default_child);

	scenario("alarm", 5, alarm_scenario, NULL);
	scenario("itimer", 11, itimer_scenario, NULL);
	scenario("posix timers", 19, posix_timer_scenario, NULL);
	scenario("SIGEV_THREAD_ID", 4, thread_id_scenario, NULL);
	scenario("signalfd", 15, signalfd_scenario, NULL);

	st = 0;
	okf(handled > 0 && reap(handled, &st, 3000) == 1 && st == EXITED(0),
	    "alarm(1) delivers SIGALRM to its handler after about a second",
	    "child %s", handled <= 0	      ? "not started"
			: st == EXITED(1) ? "saw it too early"
			: st == EXITED(2) ? "never saw it"
			: st == EXITED(3) ? "saw it too late"
					  : describe_status(st));
	st = 0;
	okf(dflt > 0 && reap(dflt, &st, 3000) == 1 && st == KILLED(SIGALRM),
	    "alarm(1) without a handler kills with SIGALRM", "child %s",
	    dflt <= 0 ? "not started" : describe_status(st));
	return done();
}
