//! The five stores. Each module implements [`crate::store::Store`] for one format.

pub mod binary;
pub mod dotenv;
pub mod ini;
pub mod json;
pub mod yaml;
