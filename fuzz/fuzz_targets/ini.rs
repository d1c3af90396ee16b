//! The ini store's parsers on arbitrary bytes: plain and encrypted loading must return
//! `Ok` or an `Error`, never panic. A plain document that loads is emitted and loaded again,
//! and an encrypted one is emitted again. Unlike the other stores, the reload may fail:
//! go-ini's writer is lossy (a value starting with a newline is written as `"""` + newline,
//! which go-ini, and so sops and this store, read back as a literal `"""`), and that is kept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use psd_sops::{Format, StoreOptions, store_for};

fuzz_target!(|data: &[u8]| {
    let store = store_for(Format::Ini, StoreOptions::default());
    if let Ok((tree, metadata)) = store.load_encrypted(data) {
        let _ = store.emit_encrypted(&tree, &metadata);
    }
    if let Ok(tree) = store.load_plain(data)
        && let Ok(out) = store.emit_plain(&tree)
    {
        let _ = store.load_plain(&out);
    }
});
