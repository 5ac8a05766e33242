//! Hand-made objects for the unit tests of the steps after parsing.

use crate::{Function, Map, MapDef, MapType, Object, Program, ProgramType};

/// An empty function of section `section`.
pub(crate) fn function(name: &str, section: &str) -> Function {
    Function::new(name, section, Vec::new())
}

/// A legacy map with 4-byte keys and values.
pub(crate) fn map(name: &str, map_type: MapType, max_entries: u32) -> Map {
    Map::new(name, MapDef::new(map_type, 4, 4, max_entries))
}

/// An empty XDP program of section `section`.
pub(crate) fn program(name: &str, section: &str) -> Program {
    Program::new(section, Some(ProgramType::XDP), function(name, section))
}

/// A GPL object of these maps and programs.
pub(crate) fn object(maps: Vec<Map>, programs: Vec<Program>) -> Object {
    Object::new(maps, programs)
}
