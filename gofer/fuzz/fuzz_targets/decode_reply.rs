//! Any bytes a (compromised) gofer can send: decoding never panics, and
//! whatever decodes re-encodes to the same reply.
#![no_main]

use gofer::protocol::{decode_reply, encode_reply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((tag, reply)) = decode_reply(data) {
        let mut out = Vec::new();
        encode_reply(tag, &reply, &mut out).expect("a decoded reply re-encodes");
        assert_eq!(decode_reply(&out), Ok((tag, reply)));
    }
});
