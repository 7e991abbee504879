//! The task components' input parsing and checks, compiled natively: arbitrary text as the
//! input of query, render and presign. Parsing must refuse or accept without panicking; an
//! accepted input goes on through everything the task computes before its first host call
//! (the report key, the link's expiry, the page, the message). The link itself is the
//! host's (`signer`), tested there.
#![no_main]

use cafe_guest::parse_input;
use cafe_presign::input::PresignInput;
use cafe_query::input::QueryInput;
use cafe_render::input::RenderInput;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(Some(query)) = parse_input::<Option<QueryInput>>(text) {
        let _ = query.threshold();
    }
    if let Ok(render) = parse_input::<RenderInput>(text)
        && let Ok(key) = render.key()
    {
        assert!(!key.is_empty() && !key.starts_with('/'));
        let page = cafe_render::page::render(render.title(), "now", &render.inventory);
        assert!(page.starts_with("<!DOCTYPE html>"));
    }
    if let Ok(presign) = parse_input::<PresignInput>(text) {
        let (Ok(()), Ok(key), Ok(expires_in)) =
            (presign.check_retired(), presign.key(), presign.expires_in())
        else {
            return;
        };
        let note = cafe_presign::message::compose(
            presign.subject.as_deref(),
            "https://example.com/r",
            1_764_000_000_000,
            expires_in,
            presign.inventory.as_ref(),
        );
        assert!(!note.subject.is_empty() && !key.is_empty());
    }
});
