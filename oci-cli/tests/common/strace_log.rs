//! Reading the log of `strace -f -o LOG`: one call per line, each prefixed
//! by the thread id that made it. Calls split by another thread's output
//! (`<unfinished ...>` … `<... NAME resumed>`) are joined again, and each
//! thread is mapped to its process (thread group) through the clone calls,
//! so a call can be attributed to a process whichever thread made it.

use std::collections::HashMap;

/// One system call as strace printed it, joined if it was split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The thread that made the call.
    pub tid: u32,
    /// Everything after the thread id: `name(args…) = result`.
    pub text: String,
}

impl Call {
    /// The syscall's name: the text before the first '('.
    pub fn name(&self) -> &str {
        self.text.split('(').next().unwrap_or("")
    }

    /// The result after the last " = ", when it is a number.
    pub fn result(&self) -> Option<i64> {
        let (_, after) = self.text.rsplit_once(" = ")?;
        after.split_whitespace().next()?.parse().ok()
    }
}

/// A whole `strace -f` log.
pub struct Log {
    pub calls: Vec<Call>,
    /// Thread id → the thread that created it with CLONE_THREAD.
    thread_parent: HashMap<u32, u32>,
}

impl Log {
    pub fn parse(text: &str) -> Log {
        let mut calls = Vec::new();
        let mut pending: HashMap<u32, String> = HashMap::new();
        for line in text.lines() {
            let Some((tid, rest)) = line.split_once(' ') else {
                continue;
            };
            let Ok(tid) = tid.parse::<u32>() else {
                continue;
            };
            let rest = rest.trim_start();
            if let Some(head) = rest.strip_suffix("<unfinished ...>") {
                pending.insert(tid, head.trim_end().to_string());
                continue;
            }
            let text = match (rest.strip_prefix("<... "), pending.remove(&tid)) {
                (Some(resumed), Some(head)) => match resumed.split_once(" resumed>") {
                    Some((_, tail)) => format!("{head}{tail}"),
                    None => rest.to_string(),
                },
                _ => rest.to_string(),
            };
            calls.push(Call { tid, text });
        }
        // Calls still unfinished at the end (the thread died in them) count too.
        calls.extend(pending.into_iter().map(|(tid, text)| Call { tid, text }));

        let mut thread_parent = HashMap::new();
        for call in &calls {
            if !matches!(call.name(), "clone" | "clone3" | "fork" | "vfork") {
                continue;
            }
            let Some(child) = call.result().filter(|&r| r > 0) else {
                continue;
            };
            if call.text.contains("CLONE_THREAD") {
                thread_parent.insert(child as u32, call.tid);
            }
        }
        Log {
            calls,
            thread_parent,
        }
    }

    /// The process a thread belongs to: up the chain of threads that
    /// created threads, to the first one that was not created as a thread.
    /// A thread's lines may come before its creator's clone returns, so the
    /// chain is followed only once the whole log is read.
    pub fn process_of(&self, tid: u32) -> u32 {
        let mut tid = tid;
        let mut hops = 0;
        while let Some(&parent) = self.thread_parent.get(&tid) {
            tid = parent;
            hops += 1;
            assert!(
                hops <= self.thread_parent.len(),
                "clone cycle in the strace log"
            );
        }
        tid
    }

    /// The processes that successfully exec'd with `arg` as one whole
    /// argument (e.g. the `gofer` verb of `ward gofer`).
    pub fn processes_execing_with_arg(&self, arg: &str) -> Vec<u32> {
        let quoted = format!("\"{arg}\"");
        self.calls
            .iter()
            .filter(|c| c.name() == "execve" && c.result() == Some(0))
            .filter(|c| {
                let argv = c.text.split_once('[').map(|(_, a)| a).unwrap_or("");
                let argv = argv.split_once(']').map(|(a, _)| a).unwrap_or(argv);
                argv.split(", ").any(|a| a == quoted)
            })
            .map(|c| self.process_of(c.tid))
            .collect()
    }
}

#[test]
fn strace_log_joins_split_calls_and_maps_threads_to_processes() {
    let text = "\
100 execve(\"/w\", [\"/w\", \"gofer\", \"--root\", \"/\"], 0x1 /* 0 vars */) = 0
100 clone(child_stack=0x7f, flags=CLONE_VM|CLONE_FS|CLONE_THREAD|CLONE_SIGHAND <unfinished ...>
101 openat2(5, \"hostname\", {flags=O_RDONLY}, 24) = 6
100 <... clone resumed>, parent_tid=[101]) = 101
200 execve(\"/w\", [\"/w\", \"sentry\", \"--\", \"/bin/cat\", \"/etc/hostname\"], 0x2 /* 3 vars */) = 0
200 clone(child_stack=NULL, flags=SIGCHLD) = 201
";

    let log = Log::parse(text);

    assert_eq!(log.processes_execing_with_arg("gofer"), vec![100]);
    assert_eq!(log.process_of(101), 100);
    assert_eq!(log.process_of(201), 201);
    let clone = log
        .calls
        .iter()
        .find(|c| c.tid == 100 && c.name() == "clone");
    assert_eq!(clone.and_then(Call::result), Some(101));
}
