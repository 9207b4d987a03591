//! Any body through the Gemini decoder: no panic, one terminal event, last, and the same
//! events however the body is cut into reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skipjack_llm::Api;

fuzz_target!(|data: &[u8]| skipjack_llm_fuzz::check_mapper(Api::GoogleGemini, data));
