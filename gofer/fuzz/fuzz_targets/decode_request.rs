//! Any bytes a client can send: decoding never panics, and whatever decodes
//! re-encodes to the same request.
#![no_main]

use gofer::protocol::{decode_request, encode_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((tag, req)) = decode_request(data) {
        let mut out = Vec::new();
        encode_request(tag, &req, &mut out).expect("a decoded request re-encodes");
        assert_eq!(decode_request(&out), Ok((tag, req)));
    }
});
