//! However a body is cut into reads, it decodes to the same events: every fixture stream
//! (every wire API, found by folder under `tests/fixtures/sse/`) is replayed whole, split at
//! every byte, and split at random points. And no byte sequence, however split, panics the
//! pipeline or ends in anything but exactly one terminal event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::sample::Index;
use skipjack_llm::pipeline::decode_chunks;
use skipjack_llm::sse::{EventTooLarge, SseEvent, SseParser};
use skipjack_llm::{Api, Model, Price, StreamEvent};

struct Fixture {
    path: PathBuf,
    api: Api,
    bytes: Vec<u8>,
    /// The unsplit decode, timestamps zeroed.
    whole: Vec<StreamEvent>,
}

fn model(api: Api) -> Model {
    Model {
        provider: "test".into(),
        id: "test-model".into(),
        api,
        base_url: "http://127.0.0.1:9/v1".into(),
        name: None,
        context_window: 100_000,
        max_output: 8_000,
        price: Some(Price { input: 1.0, output: 2.0, cache_read: 0.1, cache_write: 1.25 }),
        reasoning: true,
        images: true,
        api_key_env: None,
        max_input: 0,
        tiers: Vec::new(),
        headers: BTreeMap::new(),
    }
}

/// A fixture folder names its wire API; a new folder must be added here to be tested.
fn api_for_folder(folder: &str) -> Api {
    match folder {
        "openai" => Api::OpenAiChat,
        "anthropic" => Api::AnthropicMessages,
        "openai_responses" => Api::OpenAiResponses,
        "google_gemini" => Api::GoogleGemini,
        "bedrock_converse" => Api::BedrockConverse,
        other => panic!("fixture folder {other:?} has no wire API assigned in sse_split_props.rs"),
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "sse" || e == "bin") {
            out.push(path);
        }
    }
}

static FIXTURES: LazyLock<Vec<Fixture>> = LazyLock::new(|| {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sse");
    let mut paths = Vec::new();
    collect(&root, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&root).unwrap();
            let folder = rel.components().next().unwrap().as_os_str().to_str().unwrap();
            let api = api_for_folder(folder);
            let bytes = std::fs::read(&path).unwrap();
            let whole = normalized(decode_chunks(&model(api), &[&bytes]));
            Fixture { path, api, bytes, whole }
        })
        .collect()
});

/// Final messages carry the time they were built; everything else must match exactly.
fn normalized(mut events: Vec<StreamEvent>) -> Vec<StreamEvent> {
    for e in &mut events {
        if let StreamEvent::Done { message } | StreamEvent::Error { message, .. } = e {
            message.timestamp = 0;
        }
    }
    events
}

fn decode_split(api: Api, bytes: &[u8], cuts: &[usize]) -> Vec<StreamEvent> {
    let mut points: Vec<usize> = cuts.iter().map(|&c| c.min(bytes.len())).collect();
    points.sort_unstable();
    let mut chunks = Vec::with_capacity(points.len() + 1);
    let mut at = 0;
    for p in points {
        chunks.push(&bytes[at..p]);
        at = p;
    }
    chunks.push(&bytes[at..]);
    normalized(decode_chunks(&model(api), &chunks))
}

/// `start` first, exactly one terminal event and it is last; each block starts before its
/// deltas and ends at most once, and nothing touches a block after its end.
fn assert_well_formed(events: &[StreamEvent]) -> Result<(), String> {
    if !matches!(events.first(), Some(StreamEvent::Start)) {
        return Err(format!("first event is not start: {:?}", events.first()));
    }
    let terminals = events.iter().filter(|e| e.is_terminal()).count();
    if terminals != 1 || !events.last().is_some_and(StreamEvent::is_terminal) {
        return Err(format!("{terminals} terminal events, last {:?}", events.last().map(StreamEvent::name)));
    }
    // Per block index: its kind and whether it has ended.
    let mut blocks: BTreeMap<usize, (&str, bool)> = BTreeMap::new();
    for e in events {
        let (index, kind, phase) = match e {
            StreamEvent::TextStart { index } => (*index, "text", 0),
            StreamEvent::TextDelta { index, .. } => (*index, "text", 1),
            StreamEvent::TextEnd { index, .. } => (*index, "text", 2),
            StreamEvent::ThinkingStart { index } => (*index, "thinking", 0),
            StreamEvent::ThinkingDelta { index, .. } => (*index, "thinking", 1),
            StreamEvent::ThinkingEnd { index, .. } => (*index, "thinking", 2),
            StreamEvent::ToolCallStart { index, .. } => (*index, "toolcall", 0),
            StreamEvent::ToolCallDelta { index, .. } => (*index, "toolcall", 1),
            StreamEvent::ToolCallEnd { index, .. } => (*index, "toolcall", 2),
            _ => continue,
        };
        match (phase, blocks.get_mut(&index)) {
            (0, None) => {
                blocks.insert(index, (kind, false));
            }
            (0, Some(_)) => return Err(format!("block {index} started twice")),
            (_, None) => return Err(format!("{} before block {index} started", e.name())),
            (_, Some((k, _))) if *k != kind => return Err(format!("{} on a {k} block {index}", e.name())),
            (_, Some((_, true))) => return Err(format!("{} after block {index} ended", e.name())),
            (2, Some((_, ended))) => *ended = true,
            _ => {}
        }
    }
    Ok(())
}

#[test]
fn fixtures_are_found_in_every_folder() {
    let openai = FIXTURES.iter().filter(|f| f.api == Api::OpenAiChat).count();
    assert!(openai >= 18, "only {openai} openai fixtures found");
    let responses = FIXTURES.iter().filter(|f| f.api == Api::OpenAiResponses).count();
    assert!(responses >= 12, "only {responses} openai_responses fixtures found");
    let gemini = FIXTURES.iter().filter(|f| f.api == Api::GoogleGemini).count();
    assert!(gemini >= 17, "only {gemini} google_gemini fixtures found");
    let bedrock = FIXTURES.iter().filter(|f| f.api == Api::BedrockConverse).count();
    assert!(bedrock >= 16, "only {bedrock} bedrock_converse fixtures found");
    for f in FIXTURES.iter() {
        assert_well_formed(&f.whole).unwrap_or_else(|e| panic!("{}: {e}", f.path.display()));
    }
}

#[test]
fn every_two_chunk_split_decodes_like_the_whole() {
    for f in FIXTURES.iter() {
        for i in 0..=f.bytes.len() {
            let split = decode_split(f.api, &f.bytes, &[i]);
            assert!(split == f.whole, "{} split at byte {i}:\n{split:#?}\nwhole:\n{:#?}", f.path.display(), f.whole);
        }
    }
}

#[test]
fn every_prefix_ends_in_one_terminal_event() {
    // A connection that drops at any byte still yields a well-formed stream.
    for f in FIXTURES.iter() {
        for i in 0..=f.bytes.len() {
            let events = decode_chunks(&model(f.api), &[&f.bytes[..i]]);
            assert_well_formed(&events).unwrap_or_else(|e| panic!("{} cut at {i}: {e}", f.path.display()));
        }
    }
}

/// Pieces of both wire formats, so random streams reach deep into the decoders instead of
/// failing on the first byte.
const PIECES: &[&str] = &[
    "data: ",
    "data:",
    "event: ",
    "error",
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "[DONE]",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    ": keep-alive\n\n",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "0",
    "1",
    "-1",
    "1.5",
    "\"x\"",
    "\"🦀\"",
    "\"\\ud83e\"",
    "{\"choices\":[{\"index\":0,\"delta\":",
    "{\"content\":\"hi\"}",
    "{\"reasoning_content\":\"r\"}",
    "{\"reasoning\":\"r\",\"reasoning_details\":[{\"text\":\"r\"}]}",
    "{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"k\\\":\"}}]}",
    "{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"1}\"}}]}",
    "{\"tool_calls\":[{\"function\":{\"arguments\":{\"o\":1}}}]}",
    ",\"finish_reason\":\"stop\"",
    ",\"finish_reason\":\"error\"",
    ",\"finish_reason\":\"tool_calls\"",
    ",\"finish_reason\":null",
    "}]}",
    "{\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":2,\"cost\":0.1}}",
    "{\"error\":{\"message\":\"boom\",\"code\":500}}",
    "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":3}}}",
    "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
    "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\",\"input\":{}}}",
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}",
    "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}",
    "{\"type\":\"content_block_stop\",\"index\":0}",
    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":5}}",
    "{\"type\":\"message_stop\"}",
    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
    "{\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}",
    "{\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\"}}",
    "{\"type\":\"response.reasoning_summary_text.delta\",\"item_id\":\"rs_1\",\"output_index\":0,\"summary_index\":1,\"delta\":\"r\"}",
    "{\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\",\"encrypted_content\":\"e\",\"summary\":[{\"text\":\"rr\"}]}}",
    "{\"type\":\"response.output_text.delta\",\"item_id\":\"m\",\"output_index\":1,\"delta\":\"x\"}",
    "{\"type\":\"response.output_item.done\",\"output_index\":1,\"item\":{\"id\":\"m\",\"type\":\"message\",\"content\":[{\"text\":\"xy\"}]}}",
    "{\"type\":\"response.output_item.added\",\"output_index\":2,\"item\":{\"id\":\"fc\",\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\"}}",
    "{\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc\",\"output_index\":2,\"delta\":\"{\\\"k\\\":\"}",
    "{\"type\":\"response.function_call_arguments.done\",\"output_index\":2,\"arguments\":\"{\\\"k\\\":1}\"}",
    "{\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":9,\"input_tokens_details\":{\"cached_tokens\":4},\"output_tokens\":2}}}",
    "{\"type\":\"response.incomplete\",\"response\":{\"incomplete_details\":{\"reason\":\"max_output_tokens\"}}}",
    "{\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":\"server_error\",\"message\":\"m\"}}}",
    "{\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"m\"}",
    "{\"candidates\":[{\"content\":{\"parts\":",
    "[{\"text\":\"t\",\"thought\":true}]",
    "[{\"text\":\"x\",\"thoughtSignature\":\"s\"}]",
    "[{\"functionCall\":{\"name\":\"f\",\"args\":{\"k\":1}},\"thoughtSignature\":\"s\"}]",
    "},\"finishReason\":\"STOP\"}]",
    "},\"finishReason\":\"MAX_TOKENS\"}]",
    ",\"usageMetadata\":{\"promptTokenCount\":9,\"cachedContentTokenCount\":4,\"candidatesTokenCount\":2,\"thoughtsTokenCount\":3}",
    "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}",
    "{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"1s\"}]}}",
];

fn pieces() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|p| p.concat().into_bytes())
}

fn any_api() -> impl Strategy<Value = Api> {
    prop_oneof![
        Just(Api::OpenAiChat),
        Just(Api::AnthropicMessages),
        Just(Api::OpenAiResponses),
        Just(Api::GoogleGemini),
        Just(Api::BedrockConverse)
    ]
}

fn cut_points(len: usize, picks: &[Index]) -> Vec<usize> {
    picks.iter().map(|i| i.index(len + 1)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_splits_decode_like_the_whole(which in any::<Index>(), picks in prop::collection::vec(any::<Index>(), 1..48)) {
        let f = which.get(&FIXTURES);
        let split = decode_split(f.api, &f.bytes, &cut_points(f.bytes.len(), &picks));
        prop_assert!(split == f.whole, "{} split at {:?}", f.path.display(), cut_points(f.bytes.len(), &picks));
    }

    #[test]
    fn arbitrary_bytes_end_in_exactly_one_terminal_event(
        api in any_api(),
        bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..1024), pieces()],
        picks in prop::collection::vec(any::<Index>(), 0..16),
    ) {
        let events = decode_split(api, &bytes, &cut_points(bytes.len(), &picks));
        if let Err(e) = assert_well_formed(&events) {
            prop_assert!(false, "{e}: {:?}", events.iter().map(StreamEvent::name).collect::<Vec<_>>());
        }
        // The split must not matter here either.
        prop_assert_eq!(events, normalized(decode_chunks(&model(api), &[&bytes])));
    }

    /// Under a size cap the framer is as split-blind as without one, never delivers an
    /// event past the cap, and counts the same event-carrying bytes however the body is cut
    /// (the idle timer must not depend on how the network chunks a stream).
    #[test]
    fn capped_framing_is_split_blind_and_bounded(
        bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..1024), pieces()],
        cap in 1usize..300,
        picks in prop::collection::vec(any::<Index>(), 0..16),
    ) {
        let whole = frame_capped(&[&bytes], cap);
        let mut points = cut_points(bytes.len(), &picks);
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut at = 0;
        for p in points {
            chunks.push(&bytes[at..p]);
            at = p;
        }
        chunks.push(&bytes[at..]);
        prop_assert_eq!(frame_capped(&chunks, cap), whole.clone());
        for e in &whole.0 {
            prop_assert!(e.data.len() <= cap);
        }
        if whole.1.is_none() {
            prop_assert_eq!(frame_capped(&[&bytes], usize::MAX), whole);
        }
    }
}

fn frame_capped(chunks: &[&[u8]], cap: usize) -> (Vec<SseEvent>, Option<EventTooLarge>, u64) {
    let mut parser = SseParser::with_limit(cap);
    let mut out = Vec::new();
    for c in chunks {
        parser.feed(c, &mut out);
    }
    parser.finish(&mut out);
    (out, parser.overflow(), parser.event_bytes())
}
