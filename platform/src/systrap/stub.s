.intel_syntax noprefix
.set STUB_BASE, 0x7ff000000000
.set CMD_BASE, 0x7ff000001000
.set CMD_LEN, 0xf000
.set CTX_BASE, 0x7ff000010000
.set STUB_END, 0x7ff004000000
.set CTX_LEN, 0x3ff0000
.set MEM_SLOT, 0x7ff003ff0000
.set TASK_SIZE, 0x7ffffffff000
.set SIGACT, STUB_BASE + 0x800
.set FULL_MASK, STUB_BASE + 0x818
.set ZERO_MASK, STUB_BASE + 0x820
.set SIGLIST, STUB_BASE + 0x828
.set FPROG, STUB_BASE + 0x830
.set FPROG_APP, STUB_BASE + 0x840
.set THREAD_CLONE_FLAGS, 0x850f00
.set MAX_OPS, 959
.text
entry:
  mov edi, 2                         # rt_sigprocmask(SIG_SETMASK,
  movabs rsi, FULL_MASK              #   &FULL_MASK: nothing is caught until a thread
  xor edx, edx                       #   is ready for it,
  mov r10d, 8                        #   sizeof(sigset))
  mov eax, 14                        # SYS_rt_sigprocmask
  syscall
  test rax, rax
  jnz die
  movabs rdi, CTX_BASE               # mmap(CTX_BASE,
  mov esi, CTX_LEN                   #   CTX_LEN,
  mov edx, 3                         #   PROT_READ | PROT_WRITE,
  mov r10d, 0x11                     #   MAP_SHARED | MAP_FIXED,
  mov r8d, 4                         #   fd 4 (the context file),
  xor r9d, r9d                       #   offset 0): the thread slots
  mov eax, 9                         # SYS_mmap
  syscall
  movabs rdi, CTX_BASE
  cmp rax, rdi                       # mapped where asked?
  jne die
  movabs rdi, CMD_BASE               # mmap(CMD_BASE,
  mov esi, CMD_LEN                   #   CMD_LEN,
  mov edx, 1                         #   PROT_READ: app code can never write it,
  mov r10d, 0x11                     #   MAP_SHARED | MAP_FIXED,
  mov r8d, 4                         #   fd 4,
  mov r9d, CTX_LEN                   #   after the slots): the memory thread's requests
  mov eax, 9                         # SYS_mmap
  syscall
  movabs rdi, CMD_BASE
  cmp rax, rdi                       # mapped where asked?
  jne die
  mov edi, 4                         # close(4): only the memory file stays
  mov eax, 3                         # SYS_close
  syscall
  xor edi, edi                       # munmap(0,
  movabs rsi, STUB_BASE              #   STUB_BASE): all below the stub page
  mov eax, 11                        # SYS_munmap
  syscall
  movabs rdi, STUB_END               # munmap(STUB_END,
  movabs rsi, TASK_SIZE - STUB_END   #   to TASK_SIZE): stack, vDSO, vvar
  mov eax, 11                        # SYS_munmap
  syscall
  movabs r13, SIGLIST                # r13 = zero-terminated list of signals
next_signal:
  movzx edi, byte ptr [r13]          # edi = next signal
  test edi, edi
  jz signals_done                    # end of the list
  movabs rsi, SIGACT                 # rt_sigaction(sig, &SIGACTION,
  xor edx, edx                       #   NULL,
  mov r10d, 8                        #   sizeof(sigset))
  mov eax, 13                        # SYS_rt_sigaction
  syscall
  test rax, rax
  jnz die                            # failed
  inc r13
  jmp next_signal
signals_done:
  mov edi, 38                        # prctl(PR_SET_NO_NEW_PRIVS,
  mov esi, 1                         #   1,
  xor edx, edx                       #   0,
  xor r10d, r10d                     #   0,
  xor r8d, r8d                       #   0)
  mov eax, 157                       # SYS_prctl
  syscall
  test rax, rax
  jnz die                            # failed
  mov edi, 1                         # seccomp(SECCOMP_SET_MODE_FILTER,
  xor esi, esi                       #   0,
  movabs rdx, FPROG                  #   &FPROG): the process-wide filter
  mov eax, 317                       # SYS_seccomp
  syscall
  test rax, rax
  jnz die                            # failed
  mov edi, THREAD_CLONE_FLAGS        # clone(THREAD_CLONE_FLAGS,
  movabs rsi, MEM_SLOT + 0x200       #   the memory thread's token stack pointer,
  xor edx, edx                       #   NULL,
  xor r10d, r10d                     #   NULL,
  xor r8d, r8d                       #   0)
  mov eax, 56                        # SYS_clone
  syscall
  test rax, rax
  jz mem_thread                      # the child: the memory thread
  js die                             # failed
  movabs rdi, MEM_SLOT               # memory slot.tid = the child's tid, read by
  mov [rdi+0x10], eax                #   the sentry before any app code runs
  movabs rsp, CTX_BASE + 0x200       # token stack pointer inside slot 0 (never used as a stack)
thread_init:
  mov r12, rsp                       # r12 = this thread's slot:
  and r12, -0x10000                  #   rsp rounded down to 64 KiB
  lea rdi, [r12+0x30]                # sigaltstack(&slot.altstack (written by the sentry),
  xor esi, esi                       #   NULL)
  mov eax, 131                       # SYS_sigaltstack
  syscall
  test rax, rax
  jnz die                            # failed
  mov edi, 2                         # rt_sigprocmask(SIG_SETMASK,
  movabs rsi, ZERO_MASK              #   &ZERO_MASK (the thread started with all blocked),
  xor edx, edx                       #   NULL,
  mov r10d, 8                        #   sizeof(sigset))
  mov eax, 14                        # SYS_rt_sigprocmask
  syscall
  test rax, rax
  jnz die                            # failed
  mov edi, 1                         # seccomp(SECCOMP_SET_MODE_FILTER,
  xor esi, esi                       #   0,
  movabs rdx, FPROG_APP              #   &FPROG_APP): this thread will run app code, and
                                     #   from here on traps these very calls
  mov eax, 317                       # SYS_seccomp
  syscall
  test rax, rax
  jnz die                            # failed
  int3                               # first stop: SIGTRAP into the handler; the sentry resumes into app code
die:
  mov edi, 1                         # exit_group(1)
  mov eax, 231                       # SYS_exit_group
  syscall
  jmp die
mem_thread:
  mov r12, rsp                       # r12 = the memory thread's slot (results, flags)
  and r12, -0x10000
  movabs rbx, CMD_BASE               # rbx = the requests (read-only here)
  xor r15d, r15d                     # r15d = the last batch done
mem_idle:
  mov eax, [rbx]                     # a new batch posted?
  cmp eax, r15d
  jne mem_run
  mov eax, 1                         # mem_sleeping = 1, with xchg: a full
  xchg [r12+4], eax                  #   barrier before re-reading the sequence
mem_sleep:
  mov eax, [rbx]
  cmp eax, r15d
  jne mem_awake
  mov rdi, rbx                       # futex(&cmd.seq,
  xor esi, esi                       #   FUTEX_WAIT,
  mov edx, r15d                      #   while unchanged,
  xor r10d, r10d                     #   no timeout)
  mov eax, 202                       # SYS_futex
  syscall
  jmp mem_sleep                      # woken or spurious: check again
mem_awake:
  mov dword ptr [r12+4], 0           # mem_sleeping = 0
mem_run:
  mov r15d, [rbx]                    # r15d = this batch
  mov r14, [rbx+8]                   # r14 = cmd.nops,
  cmp r14, MAX_OPS                   #   at most what the region holds
  jbe ops_counted
  mov r14d, MAX_OPS
ops_counted:
  lea r13, [rbx+0x40]                # r13 = first op {nr, a0..a5}, 64 bytes each
  lea rbp, [r12+0x200]               # rbp = first result
next_op:
  test r14, r14
  jz batch_done
  mov rax, [r13]                     # op.nr
  mov rdi, [r13+8]                   # op.args[0..6]
  mov rsi, [r13+16]
  mov rdx, [r13+24]
  mov r10, [r13+32]
  mov r8, [r13+40]
  mov r9, [r13+48]
  syscall
  movabs rcx, MEM_SLOT + 0x200       # a clone's child runs on its own slot's token
  cmp rsp, rcx                       #   stack pointer: it is the new app thread (never
  jne thread_init                    #   re-read the op: the sentry may reuse the region)
op_done:
  mov [rbp], rax                     # result
  add r13, 64
  add rbp, 8
  dec r14
  jmp next_op
batch_done:
  mov eax, r15d                      # done = this batch, with xchg: a full
  xchg [r12], eax                    #   barrier before reading sentry_sleeping
  cmp dword ptr [r12+8], 0           # the sentry asleep?
  je mem_idle
  mov rdi, r12                       # futex(&done,
  mov esi, 1                         #   FUTEX_WAKE,
  mov edx, 1                         #   1)
  mov eax, 202                       # SYS_futex
  syscall
  jmp mem_idle
.org 0x300, 0xcc
handler:
  mov r12, rsp                       # r12 = slot base: we run on the slot's
  and r12, -0x10000                  #   alternate stack
  mov rbx, rdx                       # rbx = ucontext (rsi = siginfo)
  lea rdi, [r12+0x60]                # siginfo's first 32 bytes (signo, code, addr)
  mov ecx, 4                         #   4 quadwords
  rep movsq                          #   to slot.siginfo
  lea rsi, [rbx+40]                  # uc_mcontext (gregs, fpstate pointer, reserved)
  lea rdi, [r12+0x80]                #   to slot.mcontext
  mov ecx, 32                        #   256 bytes
  rep movsq
  rdfsbase rax                       # the app's FS base
  mov [r12+0x20], rax                #   to slot.fs_base
  rdgsbase rax                       # the app's GS base
  mov [r12+0x28], rax                #   to slot.gs_base
post:
  mov eax, 2                         # state = STOPPED, with xchg: a full barrier
  xchg [r12], eax                    #   before reading sentry_sleeping
  cmp dword ptr [r12+8], 0           # the sentry asleep?
  je wait                            # no: it sees the state by itself
  mov rdi, r12                       # futex(&state,
  mov esi, 1                         #   FUTEX_WAKE,
  mov edx, 1                         #   1)
  mov eax, 202                       # SYS_futex
  syscall
wait:
  mov rcx, [r12+0x18]                # rcx = the spin budget the sentry set
spin:
  cmp dword ptr [r12], 1             # state == RUNNING?
  je run                             # yes: the sentry answered
  test rcx, rcx
  jz sleep                           # budget spent
  dec rcx
  pause
  jmp spin
sleep:
  mov eax, 1                         # stub_sleeping = 1, with xchg: a full
  xchg [r12+4], eax                  #   barrier before re-reading state
  cmp dword ptr [r12], 1             # state == RUNNING?
  je awake
  mov rdi, r12                       # futex(&state,
  xor esi, esi                       #   FUTEX_WAIT,
  mov edx, 2                         #   while STOPPED,
  xor r10d, r10d                     #   no timeout)
  mov eax, 202                       # SYS_futex
  syscall
  jmp sleep                          # woken or spurious: check again
awake:
  mov dword ptr [r12+4], 0           # stub_sleeping = 0
run:
  mov eax, [r12+0xc]                 # eax = slot.cmd
  test eax, eax
  jz resume                          # CMD_RESUME
  mov eax, 2                         # CMD_EXIT: acknowledge (state = STOPPED),
  xchg [r12], eax
  cmp dword ptr [r12+8], 0           #   waking the sentry if asleep,
  je exit_thread
  mov rdi, r12                       # futex(&state,
  mov esi, 1                         #   FUTEX_WAKE,
  mov edx, 1                         #   1)
  mov eax, 202                       # SYS_futex
  syscall
exit_thread:
  xor edi, edi                       # exit(0): registers only from here, the
  mov eax, 60                        #   slot may already be reused; SYS_exit
  syscall
  jmp exit_thread
resume:
  lea rsi, [r12+0x80]                # slot.mcontext gregs r8..eflags
  lea rdi, [rbx+40]                  #   to uc_mcontext (not cs/ss, err, trapno, mask, cr2)
  mov ecx, 18                        #   18 quadwords
  rep movsq
  mov rax, [r12+0x20]                # the app's FS base
  wrfsbase rax
  mov rax, [r12+0x28]                # the app's GS base
  wrgsbase rax
  mov qword ptr [rbx+296], 0         # uc_sigmask = 0: nothing blocked in app code
  ret                                # to the restorer, the frame's return address
.org 0x500, 0xcc
restorer:
  mov eax, 15                        # SYS_rt_sigreturn (from the stub page: allowed)
  syscall
  jmp die                            # never: rt_sigreturn does not return
