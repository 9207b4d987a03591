//! The SSE framer gives the same events however the bytes are cut into reads, with and
//! without a size cap (and never delivers an event past the cap).
#![no_main]

use libfuzzer_sys::fuzz_target;
use skipjack_llm_fuzz::{check_capped_framer, cut_points, frame, split, BYTEWISE_MAX};

fuzz_target!(|data: &[u8]| {
    let whole = frame(&[data]);
    let cut = frame(&split(data, &cut_points(data)));
    assert_eq!(cut, whole, "cut at {:?}", cut_points(data));
    if data.len() <= BYTEWISE_MAX {
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(frame(&bytes), whole, "one byte per read");
    }
    check_capped_framer(data);
});
