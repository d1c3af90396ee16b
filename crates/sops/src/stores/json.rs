//! The json store. Not implemented yet (scaffolding while the crate is being built).

use crate::error::Error;
use crate::store::{Store, StoreOptions};
use crate::tree::{Tree, Value};

/// Reads and writes json files.
#[derive(Clone, Debug)]
pub struct JsonStore {
    #[allow(dead_code)]
    options: StoreOptions,
}

impl JsonStore {
    /// A store with these output options.
    pub fn new(options: StoreOptions) -> Self {
        Self { options }
    }
}

impl Store for JsonStore {
    fn load_plain(&self, _input: &[u8]) -> Result<Tree, Error> {
        todo!("json store")
    }
    fn load_encrypted(&self, _input: &[u8]) -> Result<(Tree, Value), Error> {
        todo!("json store")
    }
    fn emit_plain(&self, _tree: &Tree) -> Result<Vec<u8>, Error> {
        todo!("json store")
    }
    fn emit_encrypted(&self, _tree: &Tree, _metadata: &Value) -> Result<Vec<u8>, Error> {
        todo!("json store")
    }
}
