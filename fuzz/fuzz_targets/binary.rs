//! The binary store's parsers on arbitrary bytes: plain and encrypted loading must return
//! `Ok` or an `Error`, never panic. What the store emits for a plain document it loaded must
//! load again (a panic here too); an encrypted document that loads is emitted again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use psd_sops::{Format, StoreOptions, store_for};

fuzz_target!(|data: &[u8]| {
    let store = store_for(Format::Binary, StoreOptions::default());
    if let Ok((tree, metadata)) = store.load_encrypted(data) {
        let _ = store.emit_encrypted(&tree, &metadata);
    }
    if let Ok(tree) = store.load_plain(data)
        && let Ok(out) = store.emit_plain(&tree)
        && let Err(e) = store.load_plain(&out)
    {
        panic!(
            "emitted binary does not load again: {e}\n{}",
            String::from_utf8_lossy(&out)
        );
    }
});
