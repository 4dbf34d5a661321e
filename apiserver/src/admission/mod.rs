//! Admission beyond schemas: rules the API itself enforces on particular
//! kinds because they span the stored and the written object (or other
//! objects), so no client can bypass them.

pub mod case;
pub mod pod;
