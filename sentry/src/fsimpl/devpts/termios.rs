//! The kernel's `struct termios` and `struct termios2` as TCGETS/TCSETS and
//! TCGETS2/TCSETS2 copy them, and the settings a new pty's replica starts
//! with (Linux's `tty_std_termios` as the unix98 pty driver adjusts it).
//! Pure data: no locking, no app memory.

/// Size of `struct termios` (four flag words, c_line, c_cc[19]).
pub const TERMIOS_LEN: usize = 36;
/// Size of `struct termios2` (termios, then c_ispeed and c_ospeed).
pub const TERMIOS2_LEN: usize = 44;
/// Control characters in the kernel's c_cc.
pub const NCCS: usize = 19;

// c_cc indices (x86-64).
pub const VINTR: usize = 0;
pub const VQUIT: usize = 1;
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;
pub const VSTART: usize = 8;
pub const VSTOP: usize = 9;
pub const VSUSP: usize = 10;
pub const VEOL: usize = 11;
pub const VWERASE: usize = 14;
pub const VLNEXT: usize = 15;
pub const VEOL2: usize = 16;

/// A disabled control character.
pub const DISABLED: u8 = 0;

/// B38400, the speed a new pty reports.
const B38400: u32 = 0o17;
const SPEED_38400: u32 = 38400;

/// One terminal's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; NCCS],
    pub ispeed: u32,
    pub ospeed: u32,
}

impl Default for Termios {
    /// What `stty -a` shows on a fresh Linux pty: icrnl ixon, opost onlcr,
    /// cs8 cread 38400, isig icanon echo echoe echok iexten echoctl echoke,
    /// and the usual control characters (^C ^\ ^? ^U ^D, min 1 time 0, ^Q
    /// ^S ^Z, ^R ^O ^W ^V).
    fn default() -> Termios {
        let mut cc = [0u8; NCCS];
        cc[..17].copy_from_slice(&[3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0]);
        Termios {
            iflag: (libc::ICRNL | libc::IXON),
            oflag: (libc::OPOST | libc::ONLCR),
            cflag: B38400 | libc::CS8 | libc::CREAD,
            lflag: (libc::ISIG
                | libc::ICANON
                | libc::ECHO
                | libc::ECHOE
                | libc::ECHOK
                | libc::ECHOCTL
                | libc::ECHOKE
                | libc::IEXTEN),
            line: 0,
            cc,
            ispeed: SPEED_38400,
            ospeed: SPEED_38400,
        }
    }
}

impl Termios {
    /// `struct termios` as TCGETS copies it out.
    pub fn to_bytes(&self) -> [u8; TERMIOS_LEN] {
        let mut b = [0u8; TERMIOS_LEN];
        for (i, v) in [self.iflag, self.oflag, self.cflag, self.lflag]
            .iter()
            .enumerate()
        {
            b[i * 4..i * 4 + 4].copy_from_slice(&v.to_ne_bytes());
        }
        b[16] = self.line;
        b[17..17 + NCCS].copy_from_slice(&self.cc);
        b
    }

    /// `struct termios2` as TCGETS2 copies it out.
    pub fn to_bytes2(&self) -> [u8; TERMIOS2_LEN] {
        let mut b = [0u8; TERMIOS2_LEN];
        b[..TERMIOS_LEN].copy_from_slice(&self.to_bytes());
        b[36..40].copy_from_slice(&self.ispeed.to_ne_bytes());
        b[40..44].copy_from_slice(&self.ospeed.to_ne_bytes());
        b
    }

    /// The settings TCSETS* copies in (`b` is `struct termios`, or
    /// `struct termios2` when it holds 44 bytes). The speeds follow the
    /// baud bits of c_cflag unless termios2 says BOTHER.
    pub fn from_bytes(b: &[u8]) -> Termios {
        let word = |i: usize| {
            let mut w = [0u8; 4];
            if let Some(s) = b.get(i..i + 4) {
                w.copy_from_slice(s);
            }
            u32::from_ne_bytes(w)
        };
        let mut cc = [0u8; NCCS];
        if let Some(s) = b.get(17..17 + NCCS) {
            cc.copy_from_slice(s);
        }
        let cflag = word(8);
        let mut t = Termios {
            iflag: word(0),
            oflag: word(4),
            cflag,
            lflag: word(12),
            line: b.get(16).copied().unwrap_or(0),
            cc,
            ispeed: baud_of(cflag),
            ospeed: baud_of(cflag),
        };
        if b.len() >= TERMIOS2_LEN && cflag & libc::CBAUD == libc::BOTHER {
            t.ispeed = word(36);
            t.ospeed = word(40);
        }
        t
    }

    pub fn has_l(&self, bit: libc::tcflag_t) -> bool {
        self.lflag & bit != 0
    }

    pub fn has_i(&self, bit: libc::tcflag_t) -> bool {
        self.iflag & bit != 0
    }

    pub fn has_o(&self, bit: libc::tcflag_t) -> bool {
        self.oflag & bit != 0
    }

    /// Whether `c` is the enabled control character `idx`.
    pub fn is_cc(&self, idx: usize, c: u8) -> bool {
        self.cc[idx] != DISABLED && self.cc[idx] == c
    }
}

/// The speed in bits per second that the Bxxx code in `cflag` names.
fn baud_of(cflag: u32) -> u32 {
    const TABLE: [u32; 16] = [
        0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400,
    ];
    const HIGH: [u32; 15] = [
        57600, 115_200, 230_400, 460_800, 500_000, 576_000, 921_600, 1_000_000, 1_152_000,
        1_500_000, 2_000_000, 2_500_000, 3_000_000, 3_500_000, 4_000_000,
    ];
    let code = cflag & libc::CBAUD;
    if code & libc::CBAUDEX == 0 {
        TABLE[code as usize & 15]
    } else {
        let i = (code & 0o17) as usize;
        if i == 0 {
            0
        } else {
            HIGH.get(i - 1).copied().unwrap_or(0)
        }
    }
}

/// `struct winsize`: rows, columns and the pixel sizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Winsize {
    pub row: u16,
    pub col: u16,
    pub xpixel: u16,
    pub ypixel: u16,
}

impl Winsize {
    pub fn to_bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        for (i, v) in [self.row, self.col, self.xpixel, self.ypixel]
            .iter()
            .enumerate()
        {
            b[i * 2..i * 2 + 2].copy_from_slice(&v.to_ne_bytes());
        }
        b
    }

    pub fn from_bytes(b: &[u8; 8]) -> Winsize {
        let h = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        Winsize {
            row: h(0),
            col: h(2),
            xpixel: h(4),
            ypixel: h(6),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_what_linux_gives_a_new_pty() {
        let t = Termios::default();
        assert_eq!(
            (t.iflag, t.oflag, t.cflag, t.lflag),
            (0x500, 0x5, 0xbf, 0x8a3b)
        );
        assert_eq!(&t.cc[..7], &[3, 28, 127, 21, 4, 0, 1]);
        assert_eq!(t.ospeed, 38400);
    }

    #[test]
    fn termios_round_trips_through_bytes() {
        let mut t = Termios {
            lflag: 0,
            ..Termios::default()
        };
        t.cc[VMIN] = 5;
        assert_eq!(Termios::from_bytes(&t.to_bytes()), t);
        assert_eq!(Termios::from_bytes(&t.to_bytes2()), t);
    }

    #[test]
    fn speeds_follow_the_baud_bits() {
        let mut t = Termios::default();
        t.cflag = (t.cflag & !(libc::CBAUD)) | libc::B9600;
        let back = Termios::from_bytes(&t.to_bytes());
        assert_eq!((back.ispeed, back.ospeed), (9600, 9600));
    }
}
