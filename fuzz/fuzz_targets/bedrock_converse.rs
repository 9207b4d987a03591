//! Any sequence of Converse events (text records turned into valid frames), and any raw
//! bytes, through the Bedrock decoder: no panic, one terminal event, last, and the same
//! events however the body is cut into reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skipjack_llm::Api;
use skipjack_llm_fuzz::{check_mapper, converse_body};

fuzz_target!(|data: &[u8]| {
    check_mapper(Api::BedrockConverse, &converse_body(data));
    check_mapper(Api::BedrockConverse, data);
});
