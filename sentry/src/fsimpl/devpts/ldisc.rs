//! The line discipline between a pty's two ends (Linux's n_tty, the parts
//! programs rely on): input from the master is mapped (ISTRIP, IGNCR,
//! ICRNL, INLCR), turned into signals (ISIG: VINTR, VQUIT, VSUSP), edited
//! into lines (ICANON: VERASE, VWERASE, VKILL, VLNEXT, VEOF, VEOL, VEOL2)
//! or queued raw, and echoed (ECHO, ECHOE, ECHOK, ECHOKE, ECHOCTL,
//! ECHONL); output from the replica is post-processed (OPOST: ONLCR,
//! OCRNL) into the queue the master reads. Pure: no locking, no waiting,
//! no signals sent (the caller gets the signal numbers back).

use std::collections::VecDeque;

use super::termios::{
    Termios, VEOF, VEOL, VEOL2, VERASE, VINTR, VKILL, VLNEXT, VQUIT, VSTART, VSTOP, VSUSP, VWERASE,
};

/// Most bytes of input held for the replica (lines and raw bytes).
pub const INPUT_CAP: usize = 64 * 1024;
/// Most bytes of output held for the master.
pub const OUTPUT_CAP: usize = 64 * 1024;
/// Longest canonical line (Linux's N_TTY_BUF_SIZE less room for the
/// terminator): further characters are dropped.
const MAX_LINE: usize = 4095;

/// One terminal's queues and settings.
pub struct Ldisc {
    pub termios: Termios,
    /// Canonical mode: finished lines, each with its terminator (none for
    /// a line ended by VEOF; an empty line is an end of file).
    lines: VecDeque<Vec<u8>>,
    /// Canonical mode: the line being edited.
    edit: Vec<u8>,
    /// Non-canonical mode: the bytes ready to read.
    raw: VecDeque<u8>,
    /// Processed output and echoes, for the master to read.
    out: VecDeque<u8>,
    /// VLNEXT was typed: the next character is taken literally.
    lnext: bool,
}

impl Default for Ldisc {
    fn default() -> Self {
        Ldisc::new(Termios::default())
    }
}

fn is_ctrl(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

impl Ldisc {
    pub fn new(termios: Termios) -> Ldisc {
        Ldisc {
            termios,
            lines: VecDeque::new(),
            edit: Vec::new(),
            raw: VecDeque::new(),
            out: VecDeque::new(),
            lnext: false,
        }
    }

    fn canonical(&self) -> bool {
        self.termios.has_l(libc::ICANON)
    }

    /// Bytes held for the replica, finished or not.
    fn held(&self) -> usize {
        self.lines.iter().map(Vec::len).sum::<usize>() + self.edit.len() + self.raw.len()
    }

    /// FIONREAD on the replica: bytes a read could return now.
    pub fn input_ready(&self) -> usize {
        if self.canonical() {
            self.lines.iter().map(Vec::len).sum()
        } else {
            self.raw.len()
        }
    }

    /// Whether a replica read would return something (data, or an end of
    /// file in canonical mode).
    pub fn can_read(&self) -> bool {
        if self.canonical() {
            !self.lines.is_empty()
        } else {
            !self.raw.is_empty()
        }
    }

    /// Bytes ready in the non-canonical queue (VMIN is counted in these).
    pub fn raw_len(&self) -> usize {
        self.raw.len()
    }

    /// Whether the master may write more input now.
    pub fn input_room(&self) -> bool {
        self.held() < INPUT_CAP
    }

    /// Bytes waiting for the master (FIONREAD on the master, TIOCOUTQ on
    /// the replica).
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// Whether the replica may write more output now.
    pub fn output_room(&self) -> bool {
        self.out.len() < OUTPUT_CAP
    }

    /// TCFLSH's input half.
    pub fn flush_input(&mut self) {
        self.lines.clear();
        self.edit.clear();
        self.raw.clear();
        self.lnext = false;
    }

    /// TCFLSH's output half.
    pub fn flush_output(&mut self) {
        self.out.clear();
    }

    /// New settings (TCSETS*): turning ICANON off makes every held byte
    /// readable; turning it on makes the held bytes the line being edited.
    pub fn set_termios(&mut self, t: Termios) {
        let was = self.canonical();
        self.termios = t;
        match (was, self.canonical()) {
            (true, false) => {
                for l in self.lines.drain(..) {
                    self.raw.extend(l);
                }
                self.raw.extend(self.edit.drain(..));
            }
            (false, true) => self.edit.extend(self.raw.drain(..)),
            _ => {}
        }
    }

    /// A replica read of up to `max` bytes: one line at most in canonical
    /// mode (an empty result there is an end of file when `can_read` was
    /// true).
    pub fn read(&mut self, max: usize) -> Vec<u8> {
        if self.canonical() {
            let Some(front) = self.lines.front_mut() else {
                return Vec::new();
            };
            if front.len() <= max {
                return self.lines.pop_front().unwrap_or_default();
            }
            let rest = front.split_off(max);
            std::mem::replace(front, rest)
        } else {
            let n = max.min(self.raw.len());
            self.raw.drain(..n).collect()
        }
    }

    /// A master read of up to `max` bytes.
    pub fn take_output(&mut self, max: usize) -> Vec<u8> {
        let n = max.min(self.out.len());
        self.out.drain(..n).collect()
    }

    /// Output post-processing of one byte into the master's queue.
    fn put_out(&mut self, c: u8) {
        let t = &self.termios;
        if !t.has_o(libc::OPOST) {
            self.out.push_back(c);
            return;
        }
        match c {
            b'\n' if t.has_o(libc::ONLCR) => self.out.extend([b'\r', b'\n']),
            b'\r' if t.has_o(libc::OCRNL) => self.out.push_back(b'\n'),
            _ => self.out.push_back(c),
        }
    }

    /// Replica output: takes bytes of `src` while there is room; returns
    /// how many.
    pub fn write_output(&mut self, src: &[u8]) -> usize {
        let mut n = 0;
        for &c in src {
            if !self.output_room() {
                break;
            }
            self.put_out(c);
            n += 1;
        }
        n
    }

    /// Echoes `c` as the terminal shows it (^X for control characters
    /// under ECHOCTL). Echoes are dropped when the master's queue is
    /// far over its size.
    fn echo(&mut self, c: u8) {
        if self.out.len() >= 2 * OUTPUT_CAP {
            return;
        }
        if c != b'\n' && c != b'\t' && is_ctrl(c) && self.termios.has_l(libc::ECHOCTL) {
            self.out.extend([b'^', c ^ 0x40]);
        } else {
            self.put_out(c);
        }
    }

    /// Echoes the erasure of `c`, one column per character (two for a
    /// control character shown as ^X).
    fn echo_erase(&mut self, c: u8) {
        let cols = if is_ctrl(c) && c != b'\t' && self.termios.has_l(libc::ECHOCTL) {
            2
        } else {
            1
        };
        for _ in 0..cols {
            self.out.extend([b'\x08', b' ', b'\x08']);
        }
    }

    /// VERASE, VWERASE or VKILL in canonical mode.
    fn erase(&mut self, kind: usize, c: u8) {
        let echo = self.termios.has_l(libc::ECHO);
        if kind == VKILL
            && (!self.termios.has_l(libc::ECHOK)
                || !self.termios.has_l(libc::ECHOKE)
                || !self.termios.has_l(libc::ECHOE))
        {
            self.edit.clear();
            if echo {
                self.echo(c);
                if self.termios.has_l(libc::ECHOK) {
                    self.put_out(b'\n');
                }
            }
            return;
        }
        if kind == VERASE && echo && !self.termios.has_l(libc::ECHOE) {
            if self.edit.pop().is_some() {
                self.echo(c);
            }
            return;
        }
        let mut seen_word = false;
        while let Some(&last) = self.edit.last() {
            if kind == VWERASE {
                let word = last.is_ascii_alphanumeric() || last == b'_';
                if word {
                    seen_word = true;
                } else if seen_word {
                    break;
                }
            }
            self.edit.pop();
            if echo {
                self.echo_erase(last);
            }
            if kind == VERASE {
                break;
            }
        }
    }

    /// Ends the line being edited, with `term` (None for VEOF).
    fn finish_line(&mut self, term: Option<u8>) {
        let mut line = std::mem::take(&mut self.edit);
        if let Some(c) = term {
            line.push(c);
        }
        self.lines.push_back(line);
    }

    /// Master input: takes bytes of `src` while there is room; returns how
    /// many were taken and the signals they raised (for the foreground
    /// process group).
    pub fn receive(&mut self, src: &[u8]) -> (usize, Vec<i32>) {
        let mut sigs = Vec::new();
        let mut n = 0;
        for &b in src {
            if !self.input_room() {
                break;
            }
            n += 1;
            if let Some(sig) = self.receive_one(b) {
                sigs.push(sig);
            }
        }
        (n, sigs)
    }

    fn receive_one(&mut self, mut c: u8) -> Option<i32> {
        let t = self.termios;
        if t.has_i(libc::ISTRIP) {
            c &= 0x7f;
        }
        let literal = std::mem::take(&mut self.lnext);
        if !literal {
            if c == b'\r' {
                if t.has_i(libc::IGNCR) {
                    return None;
                }
                if t.has_i(libc::ICRNL) {
                    c = b'\n';
                }
            } else if c == b'\n' && t.has_i(libc::INLCR) {
                c = b'\r';
            }
            if t.has_l(libc::ISIG) {
                let sig = if t.is_cc(VINTR, c) {
                    Some(libc::SIGINT)
                } else if t.is_cc(VQUIT, c) {
                    Some(libc::SIGQUIT)
                } else if t.is_cc(VSUSP, c) {
                    Some(libc::SIGTSTP)
                } else {
                    None
                };
                if let Some(sig) = sig {
                    if !t.has_l(libc::NOFLSH) {
                        self.flush_input();
                        self.flush_output();
                    }
                    if t.has_l(libc::ECHO) {
                        self.echo(c);
                    }
                    return Some(sig);
                }
            }
            if t.has_i(libc::IXON) && (t.is_cc(VSTOP, c) || t.is_cc(VSTART, c)) {
                return None;
            }
        }
        let echo = t.has_l(libc::ECHO);
        if !self.canonical() {
            self.raw.push_back(c);
            if echo {
                self.echo(c);
            }
            return None;
        }
        let iexten = t.has_l(libc::IEXTEN);
        if !literal {
            if t.is_cc(VERASE, c) {
                self.erase(VERASE, c);
                return None;
            }
            if t.is_cc(VKILL, c) {
                self.erase(VKILL, c);
                return None;
            }
            if iexten && t.is_cc(VWERASE, c) {
                self.erase(VWERASE, c);
                return None;
            }
            if iexten && t.is_cc(VLNEXT, c) {
                self.lnext = true;
                if echo && t.has_l(libc::ECHOCTL) {
                    self.out.extend([b'^', b'\x08']);
                }
                return None;
            }
            if t.is_cc(VEOF, c) {
                self.finish_line(None);
                return None;
            }
            if c == b'\n' || t.is_cc(VEOL, c) || (iexten && t.is_cc(VEOL2, c)) {
                if echo || (c == b'\n' && t.has_l(libc::ECHONL)) {
                    self.echo(c);
                }
                self.finish_line(Some(c));
                return None;
            }
        }
        if self.edit.len() < MAX_LINE {
            self.edit.push(c);
            if echo {
                self.echo(c);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(l: &mut Ldisc) -> Vec<u8> {
        l.take_output(usize::MAX)
    }

    #[test]
    fn a_line_is_readable_only_after_its_newline() {
        let mut l = Ldisc::default();
        l.receive(b"ab");
        assert!(!l.can_read());
        l.receive(b"\r");
        assert_eq!(l.read(100), b"ab\n");
    }

    #[test]
    fn erase_and_control_echo_match_linux() {
        let mut l = Ldisc::default();
        l.receive(b"x\x01y\x7f\x7f\r");
        assert_eq!(out(&mut l), b"x^Ay\x08 \x08\x08 \x08\x08 \x08\r\n");
        assert_eq!(l.read(100), b"x\n");
    }

    #[test]
    fn kill_erases_the_whole_line() {
        let mut l = Ldisc::default();
        l.receive(b"ab\x15c\n");
        assert_eq!(l.read(100), b"c\n");
    }

    #[test]
    fn eof_on_an_empty_line_reads_as_end_of_file() {
        let mut l = Ldisc::default();
        l.receive(b"\x04");
        assert!(l.can_read());
        assert!(l.read(100).is_empty());
        assert!(!l.can_read());
        assert!(out(&mut l).is_empty());
    }

    #[test]
    fn intr_raises_sigint_and_echoes_caret_c() {
        let mut l = Ldisc::default();
        let (_, sigs) = l.receive(b"ab\x03");
        assert_eq!(sigs, vec![libc::SIGINT]);
        assert_eq!(out(&mut l), b"^C");
        assert!(!l.can_read());
    }

    #[test]
    fn output_newlines_become_crlf() {
        let mut l = Ldisc::default();
        l.write_output(b"a\n");
        assert_eq!(out(&mut l), b"a\r\n");
    }

    #[test]
    fn leaving_canonical_mode_makes_the_partial_line_readable() {
        let mut l = Ldisc::default();
        l.receive(b"ab");
        let mut t = l.termios;
        t.lflag &= !libc::ICANON;
        l.set_termios(t);
        assert_eq!(l.read(1), b"a");
        assert_eq!(l.read(10), b"b");
    }

    #[test]
    fn a_long_line_is_read_in_pieces() {
        let mut l = Ldisc::default();
        l.receive(b"abcdef\n");
        assert_eq!(l.read(4), b"abcd");
        assert_eq!(l.read(4), b"ef\n");
    }
}
