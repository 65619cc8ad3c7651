//! A socket's receive queue (pure: the locking, waiting and the peer are
//! `unix.rs`'s). Every send lands as one `Message`: its bytes, the open
//! files and credentials it carries, and the sender's address. A stream
//! read takes bytes across messages but stops where ancillary data changes
//! (at a message carrying files, and, with SO_PASSCRED, where the sender's
//! credentials change), as Linux's unix_stream_read_generic does; a
//! datagram or seqpacket read takes one message and discards (or, peeking,
//! leaves) what does not fit.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};

use crate::kernel::waiter::WaitQueue;
use crate::vfs::file::FileDescription;

/// A sender's identity as SCM_CREDENTIALS and SO_PEERCRED carry it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ucred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// One send's worth of data and ancillary data.
pub struct Message {
    pub data: Vec<u8>,
    /// Bytes before this were already read (streams only).
    pub start: usize,
    /// SCM_RIGHTS: open file descriptions in flight.
    pub rights: Vec<Arc<dyn FileDescription>>,
    pub cred: Ucred,
    /// The sender's address (the sockaddr_un bytes), when it is bound.
    pub from: Option<Vec<u8>>,
    /// Whom to tell when the message is taken (room was made), if anyone.
    pub sender: Option<Weak<WaitQueue>>,
}

impl Message {
    pub fn new(data: Vec<u8>, cred: Ucred) -> Message {
        Message {
            data,
            start: 0,
            rights: Vec::new(),
            cred,
            from: None,
            sender: None,
        }
    }

    fn len(&self) -> usize {
        self.data.len() - self.start
    }
}

/// What one read took.
#[derive(Default)]
pub struct Taken {
    /// Bytes copied to the reader.
    pub copied: usize,
    /// The whole message's length (datagrams: what MSG_TRUNC reports).
    pub full: usize,
    /// The message was longer than the reader's buffer (datagrams).
    pub truncated: bool,
    pub rights: Vec<Arc<dyn FileDescription>>,
    /// The credentials of the first message read from.
    pub cred: Option<Ucred>,
    pub from: Option<Vec<u8>>,
    /// The senders of the messages wholly consumed, to be told of room.
    pub senders: Vec<Weak<WaitQueue>>,
}

#[derive(Default)]
pub struct MsgQueue {
    msgs: VecDeque<Message>,
    bytes: usize,
}

impl MsgQueue {
    pub fn new() -> MsgQueue {
        MsgQueue::default()
    }

    /// Unread bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Messages queued.
    pub fn count(&self) -> usize {
        self.msgs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    /// The length of the next message (FIONREAD on a datagram socket).
    pub fn next_len(&self) -> Option<usize> {
        self.msgs.front().map(Message::len)
    }

    pub fn push(&mut self, msg: Message) {
        self.bytes += msg.len();
        self.msgs.push_back(msg);
    }

    /// Drops everything queued (the socket closed); returns the messages
    /// so the caller can drop their files outside its lock.
    pub fn clear(&mut self) -> Vec<Message> {
        self.bytes = 0;
        self.msgs.drain(..).collect()
    }

    /// A stream read of up to `total` bytes into `dst(at, bytes)`. Stops
    /// before a message carrying files once something was read, after the
    /// message whose files it delivers, and (with `by_cred`) where the
    /// credentials change. `peek` leaves everything queued.
    pub fn read_stream(
        &mut self,
        dst: &mut dyn FnMut(usize, &[u8]),
        total: usize,
        peek: bool,
        by_cred: bool,
    ) -> Taken {
        let mut t = Taken::default();
        let mut i = 0;
        while t.copied < total && i < self.msgs.len() {
            let m = &mut self.msgs[i];
            if t.copied > 0 && !m.rights.is_empty() {
                break;
            }
            if by_cred && t.cred.is_some_and(|c| c != m.cred) {
                break;
            }
            if t.cred.is_none() {
                t.cred = Some(m.cred);
                t.from = m.from.clone();
            }
            let n = m.len().min(total - t.copied);
            dst(t.copied, &m.data[m.start..m.start + n]);
            t.copied += n;
            let had_rights = !m.rights.is_empty();
            if peek {
                t.rights.extend(m.rights.iter().cloned());
                i += 1;
            } else {
                t.rights.append(&mut m.rights);
                m.start += n;
                self.bytes -= n;
                if m.len() == 0 {
                    if let Some(m) = self.msgs.remove(i) {
                        t.senders.extend(m.sender);
                    }
                } else {
                    i += 1;
                }
            }
            if had_rights {
                break;
            }
        }
        t.full = t.copied;
        t
    }

    /// A datagram or seqpacket read: the next message, its first `total`
    /// bytes into `dst(at, bytes)`, the rest discarded unless `peek`.
    pub fn read_packet(
        &mut self,
        dst: &mut dyn FnMut(usize, &[u8]),
        total: usize,
        peek: bool,
    ) -> Option<Taken> {
        let m = self.msgs.front()?;
        let mut t = Taken {
            full: m.len(),
            cred: Some(m.cred),
            from: m.from.clone(),
            ..Taken::default()
        };
        t.copied = m.len().min(total);
        t.truncated = t.copied < t.full;
        dst(0, &m.data[m.start..m.start + t.copied]);
        if peek {
            t.rights = m.rights.clone();
        } else if let Some(mut m) = self.msgs.pop_front() {
            self.bytes -= m.len();
            t.rights = std::mem::take(&mut m.rights);
            t.senders.extend(m.sender);
        }
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errno::Errno;
    use crate::vfs::stat::Stat;

    struct Dummy;

    impl FileDescription for Dummy {
        fn stat(&self) -> Result<Stat, Errno> {
            Err(Errno::EINVAL)
        }
        fn flags(&self) -> i32 {
            0
        }
        fn path(&self) -> String {
            String::new()
        }
    }

    const A: Ucred = Ucred {
        pid: 1,
        uid: 0,
        gid: 0,
    };
    const B: Ucred = Ucred {
        pid: 2,
        uid: 0,
        gid: 0,
    };

    fn msg(data: &[u8], cred: Ucred, files: usize) -> Message {
        let mut m = Message::new(data.to_vec(), cred);
        for _ in 0..files {
            m.rights.push(Arc::new(Dummy));
        }
        m
    }

    fn stream(q: &mut MsgQueue, len: usize, peek: bool, by_cred: bool) -> (Vec<u8>, Taken) {
        let mut out = vec![0u8; len];
        let t = q.read_stream(
            &mut |at, b| out[at..at + b.len()].copy_from_slice(b),
            len,
            peek,
            by_cred,
        );
        out.truncate(t.copied);
        (out, t)
    }

    fn packet(q: &mut MsgQueue, len: usize, peek: bool) -> (Vec<u8>, Taken) {
        let mut out = vec![0u8; len];
        let t = q
            .read_packet(
                &mut |at, b| out[at..at + b.len()].copy_from_slice(b),
                len,
                peek,
            )
            .expect("a message");
        out.truncate(t.copied);
        (out, t)
    }

    #[test]
    fn a_stream_read_joins_messages_in_order() {
        let mut q = MsgQueue::new();
        q.push(msg(b"hello ", A, 0));
        q.push(msg(b"world", A, 0));
        assert_eq!(q.bytes(), 11);
        assert_eq!(stream(&mut q, 64, false, false).0, b"hello world");
        assert!(q.is_empty());
        assert_eq!(q.bytes(), 0);
    }

    #[test]
    fn a_short_stream_read_leaves_the_rest() {
        let mut q = MsgQueue::new();
        q.push(msg(b"abcdef", A, 0));
        assert_eq!(stream(&mut q, 4, false, false).0, b"abcd");
        assert_eq!(q.bytes(), 2);
        assert_eq!(stream(&mut q, 4, false, false).0, b"ef");
    }

    #[test]
    fn a_stream_peek_consumes_nothing() {
        let mut q = MsgQueue::new();
        q.push(msg(b"ab", A, 0));
        q.push(msg(b"cd", A, 0));
        assert_eq!(stream(&mut q, 3, true, false).0, b"abc");
        assert_eq!(q.bytes(), 4);
        assert_eq!(stream(&mut q, 8, false, false).0, b"abcd");
    }

    #[test]
    fn a_stream_read_stops_before_a_message_with_files() {
        let mut q = MsgQueue::new();
        q.push(msg(b"ab", A, 0));
        q.push(msg(b"cd", A, 1));
        q.push(msg(b"ef", A, 0));
        let (d, t) = stream(&mut q, 8, false, false);
        assert_eq!((d.as_slice(), t.rights.len()), (&b"ab"[..], 0));
        let (d, t) = stream(&mut q, 8, false, false);
        assert_eq!((d.as_slice(), t.rights.len()), (&b"cd"[..], 1));
        assert_eq!(stream(&mut q, 8, false, false).0, b"ef");
    }

    #[test]
    fn files_come_with_the_first_byte_of_their_message() {
        let mut q = MsgQueue::new();
        q.push(msg(b"xyz", A, 2));
        let (d, t) = stream(&mut q, 1, false, false);
        assert_eq!((d.as_slice(), t.rights.len()), (&b"x"[..], 2));
        let (d, t) = stream(&mut q, 8, false, false);
        assert_eq!((d.as_slice(), t.rights.len()), (&b"yz"[..], 0));
    }

    #[test]
    fn with_passcred_a_stream_read_stops_where_the_sender_changes() {
        let mut q = MsgQueue::new();
        q.push(msg(b"a", A, 0));
        q.push(msg(b"b", B, 0));
        let (d, t) = stream(&mut q, 8, true, true);
        assert_eq!((d.as_slice(), t.cred), (&b"a"[..], Some(A)));
        assert_eq!(stream(&mut q, 8, false, false).0, b"ab");
    }

    #[test]
    fn a_packet_read_takes_one_message_and_drops_its_tail() {
        let mut q = MsgQueue::new();
        q.push(msg(b"abcdef", A, 0));
        q.push(msg(b"gh", A, 0));
        let (d, t) = packet(&mut q, 2, false);
        assert_eq!(d, b"ab");
        assert!(t.truncated);
        assert_eq!(t.full, 6);
        assert_eq!(q.bytes(), 2);
        let (d, t) = packet(&mut q, 64, false);
        assert_eq!(d, b"gh");
        assert!(!t.truncated);
        assert!(q.is_empty());
    }

    #[test]
    fn a_packet_peek_leaves_the_message() {
        let mut q = MsgQueue::new();
        q.push(msg(b"abc", A, 1));
        let (d, t) = packet(&mut q, 64, true);
        assert_eq!((d.as_slice(), t.rights.len()), (&b"abc"[..], 1));
        assert_eq!(q.count(), 1);
        assert_eq!(packet(&mut q, 64, false).1.rights.len(), 1);
        assert!(q.is_empty());
    }

    #[test]
    fn an_empty_datagram_is_a_message() {
        let mut q = MsgQueue::new();
        q.push(msg(b"", A, 0));
        assert!(!q.is_empty());
        assert_eq!(q.next_len(), Some(0));
        assert_eq!(packet(&mut q, 8, false).1.full, 0);
        assert!(q.is_empty());
    }
}
