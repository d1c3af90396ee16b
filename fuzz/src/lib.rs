//! What the store fuzz targets share: one store's parsers on arbitrary bytes.

use psd_sops::{Format, StoreOptions, store_for};

/// Plain and encrypted loading of `data` as `format` must return `Ok` or an `Error`, never
/// panic; an encrypted document that loads is emitted again. A plain document that loads is
/// emitted and loaded again, and with `reload_must_succeed` a failing reload is a panic.
pub fn store_round_trip(format: Format, data: &[u8], reload_must_succeed: bool) {
    let store = store_for(format, StoreOptions::default());
    if let Ok((tree, metadata)) = store.load_encrypted(data) {
        let _ = store.emit_encrypted(&tree, &metadata);
    }
    if let Ok(tree) = store.load_plain(data)
        && let Ok(out) = store.emit_plain(&tree)
        && let Err(e) = store.load_plain(&out)
        && reload_must_succeed
    {
        panic!(
            "emitted {} does not load again: {e}\n{}",
            format.name(),
            String::from_utf8_lossy(&out)
        );
    }
}
