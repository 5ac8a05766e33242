//! Stage 1: read the object file, once, and parse it.
//!
//! The file is read whole with one `read` (objects are small: the parser
//! borrows from the bytes and copies out only what the model keeps), and the
//! bytes stay around for iproute2's `PIN_OBJECT_NS`, whose directory is named
//! after the SHA-1 of the file.

use std::path::Path;

use rxdp_elf::Object;

use crate::error::LoadError;

/// The object's bytes.
pub fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|error| LoadError::Read {
        file: path.display().to_string(),
        error,
    })
}

/// The object's model; parse errors name the file.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Object, LoadError> {
    Object::parse(bytes).map_err(|error| LoadError::Parse {
        file: path.display().to_string(),
        error,
    })
}
