//! The binary store. Not implemented yet (scaffolding while the crate is being built).

use crate::error::Error;
use crate::store::{Store, StoreOptions};
use crate::tree::{Tree, Value};

/// Reads and writes binary files.
#[derive(Clone, Debug)]
pub struct BinaryStore {
    #[allow(dead_code)]
    options: StoreOptions,
}

impl BinaryStore {
    /// A store with these output options.
    pub fn new(options: StoreOptions) -> Self {
        Self { options }
    }
}

impl Store for BinaryStore {
    fn load_plain(&self, _input: &[u8]) -> Result<Tree, Error> {
        todo!("binary store")
    }
    fn load_encrypted(&self, _input: &[u8]) -> Result<(Tree, Value), Error> {
        todo!("binary store")
    }
    fn emit_plain(&self, _tree: &Tree) -> Result<Vec<u8>, Error> {
        todo!("binary store")
    }
    fn emit_encrypted(&self, _tree: &Tree, _metadata: &Value) -> Result<Vec<u8>, Error> {
        todo!("binary store")
    }
}
