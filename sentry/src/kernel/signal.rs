//! Signal dispositions and masks. Recorded now so rt_sigaction and
//! rt_sigprocmask behave as Linux's; delivery comes with the process model.

/// struct k_sigaction as the kernel sees it from rt_sigaction(2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

pub const NSIG: usize = 64;

/// A thread group's dispositions and a thread's mask.
#[derive(Clone, Debug)]
pub struct SignalState {
    pub actions: [SigAction; NSIG],
    pub mask: u64,
    /// Signals sent while blocked, awaiting delivery.
    pub pending: u64,
}

impl Default for SignalState {
    fn default() -> Self {
        SignalState {
            actions: [SigAction::default(); NSIG],
            mask: 0,
            pending: 0,
        }
    }
}

/// The bit of signal `sig` (1-based) in a sigset.
pub fn sig_bit(sig: u64) -> u64 {
    1u64 << (sig - 1)
}

/// SIGKILL and SIGSTOP can be neither caught, blocked nor ignored.
pub const UNBLOCKABLE: u64 = (1 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1));
