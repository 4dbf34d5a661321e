//! Helpers shared by the table tests.

use crate::{FieldError, Structural};
use serde_json::Value;

/// Compiles a schema that must be accepted.
pub(crate) fn compile(schema: Value) -> Structural {
    match Structural::compile(&schema, "openAPIV3Schema") {
        Ok(s) => s,
        Err(errors) => panic!("schema refused: {:#?}", lines(&errors)),
    }
}

/// The `field: message` lines of errors.
pub(crate) fn lines(errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(FieldError::to_line).collect()
}
