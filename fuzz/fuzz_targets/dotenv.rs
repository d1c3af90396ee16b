//! The dotenv store's parsers on arbitrary bytes: plain and encrypted loading must return
//! `Ok` or an `Error`, never panic; a plain document that loads must also emit, and the
//! emitted text must load again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use psd_sops::{Format, StoreOptions, store_for};

fuzz_target!(|data: &[u8]| {
    let store = store_for(Format::Dotenv, StoreOptions::default());
    let _ = store.load_encrypted(data);
    if let Ok(tree) = store.load_plain(data)
        && let Ok(out) = store.emit_plain(&tree)
    {
        let _ = store.load_plain(&out);
    }
});
