//! Bedrock's event-stream frame decoder on any bytes, and on the same bytes with their CRCs
//! made right: same frames however cut, nothing past the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skipjack_llm_fuzz::{check_eventstream, with_valid_crcs};

fuzz_target!(|data: &[u8]| {
    check_eventstream(data);
    check_eventstream(&with_valid_crcs(data));
});
