//! The fuzz crate is outside the workspace and needs nightly, so `cargo test` never builds it. Its `responses`
//! target checks on its first input that its list names every response this crate decodes; that check only runs
//! when someone fuzzes, and once went unnoticed while 36 responses were added. This test reads the target's source
//! and makes the same check on every `cargo test`.

use kafkar_protocol::messages::{MessageKind, all_specs};

#[test]
fn the_responses_fuzz_target_lists_every_response() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/fuzz_targets/responses.rs");
    let src = std::fs::read_to_string(path).expect("read fuzz/fuzz_targets/responses.rs");
    let start = src.find("static RESPONSES").expect("the RESPONSES list");
    let list = &src[start..start + src[start..].find("];").expect("the end of the RESPONSES list")];
    let missing: Vec<&str> = all_specs()
        .into_iter()
        .filter(|s| s.kind == MessageKind::Response)
        .map(|s| s.name)
        .filter(|name| !list.contains(&format!("::{name},")))
        .collect();
    assert!(missing.is_empty(), "missing from RESPONSES in fuzz/fuzz_targets/responses.rs: {missing:?}");
}
