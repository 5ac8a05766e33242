//! The staged API, first stage: an object opened but not loaded.
//!
//! ```text
//! Object::open / from_bytes → inspect, set globals, types, autoload
//!     → load() → LoadedObject (typed maps) → attach_xdp / attach_xdp_link
//! ```
//!
//! An [`Object`] is the parsed file ([`rxdp_elf::Object`]) and what the
//! caller changes before the kernel sees anything: the initial values of
//! global variables (`.rodata`, `.data`, `.bss`), the type of a program,
//! whether a program is loaded at all. [`Object::load`] runs the same
//! stages as [`crate::load`] (which is `Object::open` then
//! [`Object::load_with`]) and returns a [`LoadedObject`].
//!
//! ```no_run
//! use rxdp::Object;
//!
//! let mut object = Object::open("global_data.o")?;
//! for map in object.maps() {
//!     println!("map {} ({})", map.name, map.def.map_type.name());
//! }
//! // `const volatile __u32 cfg_verdict` in .rodata: XDP_DROP from now on.
//! object.set_global("cfg_verdict", &1u32)?;
//! let loaded = object.load()?;
//! println!("{} programs loaded", loaded.programs().len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use bytemuck::Pod;
use rxdp_elf::btf::BtfKind;
use rxdp_elf::{sha1, Map, Pinning, Program, ProgramType};
use rxdp_syscalls::seam;

use crate::error::LoadError;
use crate::loaded_object::LoadedObject;
use crate::observe::{NoObserver, Observer, Stage};
use crate::open;
use crate::options::{
    resolve_map, resolve_program, AttachOptions, LoadOptions, MapRef, Mode, OptionError, ProgRef,
    DEFAULT_MAX_OBJECT_SIZE,
};
use crate::pipeline::{load_opened, Opened, StageTiming};

/// DATASECs that hold no variables of the object's own: maps, the licence,
/// externs the loader resolves against the kernel.
const NOT_GLOBALS: [&str; 4] = [".maps", "license", ".kconfig", ".ksyms"];

/// A BPF object read and parsed, not yet loaded: inspect it, change it, then
/// [`load`](Object::load) it.
#[derive(Clone)]
pub struct Object {
    /// The name messages give it: the path, or the name given to
    /// [`Object::from_bytes`].
    file: String,
    path: PathBuf,
    /// See [`Opened::object_sha1`]: the file's bytes go after the parse.
    object_sha1: String,
    model: rxdp_elf::Object,
    /// One per program of `model`: load it or leave it out.
    autoload: Vec<bool>,
    open: StageTiming,
}

/// A global variable of the object, as its BTF describes it: a VAR of a
/// `.rodata`, `.data` or `.bss` DATASEC.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Global {
    /// The variable's name (`cfg_verdict`).
    pub name: String,
    /// Its ELF section, which is also the name of its map (`.rodata`).
    pub section: String,
    /// Its offset in the section.
    pub offset: u32,
    /// Its size in bytes.
    pub size: u32,
    /// Whether the section is loaded as a map (some instruction uses it):
    /// only then can a program see the value.
    pub loaded: bool,
}

/// Why a global variable cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GlobalError {
    /// The object has no BTF: its globals have no names a loader can find.
    #[error("{file}: cannot set global {name}: the object has no BTF, so its variables have no names; build it with clang -g")]
    NoBtf {
        /// The object.
        file: String,
        /// The variable asked for.
        name: String,
    },
    /// No global variable has this name.
    #[error("{file}: no global variable is named {name:?}; the object has: {list}")]
    NotFound {
        /// The object.
        file: String,
        /// The variable asked for.
        name: String,
        /// The object's globals, with their sections and sizes.
        list: String,
    },
    /// The value given is not the variable's size.
    #[error("{file}: global {name} in {section} is {size} bytes, the value given is {given}; pass a value of the variable's C type")]
    WrongSize {
        /// The object.
        file: String,
        /// The variable.
        name: String,
        /// Its section.
        section: String,
        /// Its size.
        size: u32,
        /// The size of the value given.
        given: usize,
    },
    /// The variable's section is not loaded: no instruction uses it.
    #[error("{file}: global {name} is in {section}, which no program uses (no map is made of it): setting it would change nothing")]
    NotLoaded {
        /// The object.
        file: String,
        /// The variable.
        name: String,
        /// Its section.
        section: String,
    },
    /// The variable lies outside its section's bytes.
    #[error("{file}: global {name} at offset {offset} ({size} bytes) lies outside {section} ({len} bytes); the object is malformed")]
    Outside {
        /// The object.
        file: String,
        /// The variable.
        name: String,
        /// Its section.
        section: String,
        /// Its offset.
        offset: u32,
        /// Its size.
        size: u32,
        /// The section's length.
        len: usize,
    },
}

/// The name and what the object holds, not its bytes.
impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |names: Vec<&str>| names.join(", ");
        f.debug_struct("Object")
            .field("file", &self.file)
            .field("object_sha1", &self.object_sha1)
            .field(
                "maps",
                &names(self.model.maps.iter().map(|m| m.name.as_str()).collect()),
            )
            .field(
                "programs",
                &names(self.model.programs.iter().map(Program::name).collect()),
            )
            .field("autoload", &self.autoload)
            .finish()
    }
}

impl Object {
    /// Reads and parses the object file at `path` (at most
    /// [`DEFAULT_MAX_OBJECT_SIZE`] bytes).
    pub fn open(path: impl AsRef<Path>) -> Result<Object, LoadError> {
        Object::open_with(path.as_ref(), DEFAULT_MAX_OBJECT_SIZE)
    }

    /// [`Object::open`], reading at most `max_size` bytes.
    pub fn open_with(path: &Path, max_size: u64) -> Result<Object, LoadError> {
        let (start, kernel) = (Instant::now(), seam::kernel_time());
        let (bytes, complete) = open::read_for_parse(path, max_size)?;
        // The SHA-1 is of the whole file: read whole, when it is needed,
        // if the parse's reading left parts out.
        let whole = || match complete {
            true => Ok(None),
            false => open::read(path, max_size).map(Some),
        };
        Object::parsed(path, bytes, whole, start, kernel)
    }

    /// Parses an object already in memory (embedded with `include_bytes!`,
    /// say). `name` stands for the file in messages.
    pub fn from_bytes(
        name: impl Into<String>,
        bytes: impl Into<Vec<u8>>,
    ) -> Result<Object, LoadError> {
        let name = name.into();
        Object::parsed(
            Path::new(&name),
            bytes.into(),
            || Ok(None),
            Instant::now(),
            seam::kernel_time(),
        )
    }

    /// The object of `bytes`; `whole` gives the file's bytes when `bytes`
    /// are not all of them (`None`: they are).
    fn parsed(
        path: &Path,
        bytes: Vec<u8>,
        whole: impl FnOnce() -> Result<Option<Vec<u8>>, LoadError>,
        start: Instant,
        kernel: std::time::Duration,
    ) -> Result<Object, LoadError> {
        let model = open::parse(path, &bytes)?;
        // The model owns what it needs of the file: only iproute2's
        // `PIN_OBJECT_NS` needs the bytes again (their hash), and the rest of
        // the load runs without them.
        let object_sha1 = if model.maps.iter().any(|m| m.pinning == Pinning::ObjectNs) {
            match whole()? {
                Some(all) => sha1::hex(&all),
                None => sha1::hex(&bytes),
            }
        } else {
            String::new()
        };
        drop(bytes);
        Ok(Object {
            file: path.display().to_string(),
            path: path.to_path_buf(),
            autoload: vec![true; model.programs.len()],
            object_sha1,
            model,
            open: StageTiming {
                stage: Stage::Open,
                wall: start.elapsed(),
                kernel: seam::kernel_time().saturating_sub(kernel),
            },
        })
    }

    /// The name messages give the object.
    pub fn name(&self) -> &str {
        &self.file
    }

    /// The parsed object, as it will be loaded (globals set included).
    pub fn model(&self) -> &rxdp_elf::Object {
        &self.model
    }

    /// The parsed object, to change before the load (a program made an
    /// freplace component of a dispatcher, [`crate::multiprog`]).
    pub(crate) fn model_mut(&mut self) -> &mut rxdp_elf::Object {
        &mut self.model
    }

    /// The maps, in `map_fd[]` order.
    pub fn maps(&self) -> &[Map] {
        &self.model.maps
    }

    /// The programs, in `prog_fd[]` order.
    pub fn programs(&self) -> &[Program] {
        &self.model.programs
    }

    /// The map `map` names: its index in `map_fd[]` or its name.
    pub fn map(&self, map: impl Into<MapRef>) -> Result<&Map, OptionError> {
        resolve_map(&self.model, &map.into()).map(|index| &self.model.maps[index])
    }

    /// The program `program` names: its index in `prog_fd[]`, its function
    /// name, or its section name.
    pub fn program(&self, program: impl Into<ProgRef>) -> Result<&Program, OptionError> {
        resolve_program(&self.model, &program.into()).map(|index| &self.model.programs[index])
    }

    /// The global variables of `.rodata*`, `.data*` and `.bss*`, as the
    /// object's BTF names them, section by section; none without BTF.
    pub fn globals(&self) -> Vec<Global> {
        let Some(btf) = &self.model.btf else {
            return Vec::new();
        };
        let Ok(datasecs) = btf.datasecs() else {
            return Vec::new();
        };
        let mut globals = Vec::new();
        for (_, section, vars) in datasecs {
            if NOT_GLOBALS.contains(&section) {
                continue;
            }
            let loaded = self.data_map(section).is_some();
            for var in vars {
                let name = btf
                    .type_by_id(var.type_id)
                    .ok()
                    .filter(|t| t.kind == BtfKind::Var)
                    .and_then(|t| btf.string(t.name_off).ok());
                if let Some(name) = name {
                    globals.push(Global {
                        name: name.to_string(),
                        section: section.to_string(),
                        offset: var.offset,
                        size: var.size,
                        loaded,
                    });
                }
            }
        }
        globals
    }

    /// The map made of global-data section `section`.
    fn data_map(&self, section: &str) -> Option<usize> {
        self.model
            .maps
            .iter()
            .position(|m| m.section == section && m.name == section)
    }

    /// Sets the initial value of global variable `name` to `value`, whose
    /// size must be the variable's. `.rodata` is frozen at load: the
    /// verifier then treats the value as a constant (`const volatile`
    /// variables are made for this).
    pub fn set_global<T: Pod>(&mut self, name: &str, value: &T) -> Result<(), GlobalError> {
        self.set_global_bytes(name, bytemuck::bytes_of(value))
    }

    /// [`Object::set_global`] with the value's bytes, in the target's byte
    /// order.
    pub fn set_global_bytes(&mut self, name: &str, value: &[u8]) -> Result<(), GlobalError> {
        let file = self.file.clone();
        if self.model.btf.is_none() {
            return Err(GlobalError::NoBtf {
                file,
                name: name.to_string(),
            });
        }
        let globals = self.globals();
        let Some(global) = globals.iter().find(|g| g.name == name) else {
            let list = globals
                .iter()
                .map(|g| format!("{} ({}, {} bytes)", g.name, g.section, g.size))
                .collect::<Vec<_>>();
            return Err(GlobalError::NotFound {
                file,
                name: name.to_string(),
                list: if list.is_empty() {
                    "none".to_string()
                } else {
                    list.join(", ")
                },
            });
        };
        if value.len() != global.size as usize {
            return Err(GlobalError::WrongSize {
                file,
                name: name.to_string(),
                section: global.section.clone(),
                size: global.size,
                given: value.len(),
            });
        }
        let Some(index) = self.data_map(&global.section) else {
            return Err(GlobalError::NotLoaded {
                file,
                name: name.to_string(),
                section: global.section.clone(),
            });
        };
        let map = &mut self.model.maps[index];
        // .bss has no bytes in the file: the kernel would zero-fill it.
        let data = map
            .data
            .get_or_insert_with(|| vec![0; map.def.value_size as usize]);
        let (start, len) = (global.offset as usize, data.len());
        match data.get_mut(start..start + value.len()) {
            Some(slot) => slot.copy_from_slice(value),
            None => {
                return Err(GlobalError::Outside {
                    file,
                    name: name.to_string(),
                    section: global.section.clone(),
                    offset: global.offset,
                    size: global.size,
                    len,
                })
            }
        }
        Ok(())
    }

    /// Sets the type of the program `program` names (index, function or
    /// section name): for sections whose name says none (`prog/0`), or to
    /// override it.
    pub fn set_program_type(
        &mut self,
        program: impl Into<ProgRef>,
        prog_type: ProgramType,
    ) -> Result<(), OptionError> {
        let index = resolve_program(&self.model, &program.into())?;
        self.model.programs[index].prog_type = Some(prog_type);
        Ok(())
    }

    /// Whether the program `program` names is loaded (all are, unless told
    /// otherwise). A program left out has no place in the loaded object's
    /// `prog_fd[]`: the others keep their order, closing up; jump-table
    /// entries the object implies for it are not made.
    pub fn set_autoload(
        &mut self,
        program: impl Into<ProgRef>,
        autoload: bool,
    ) -> Result<(), OptionError> {
        let index = resolve_program(&self.model, &program.into())?;
        self.autoload[index] = autoload;
        Ok(())
    }

    /// Whether `prog_fd[index]` of the object will be loaded.
    pub fn autoload(&self, index: usize) -> bool {
        self.autoload.get(index).copied().unwrap_or(false)
    }

    /// Loads the object: BTF, maps (globals written, `.rodata` frozen),
    /// relocation, programs, the jump-table entries the object implies.
    /// Nothing is pinned or attached, no process-wide setting changes; on
    /// error nothing stays open.
    pub fn load(self) -> Result<LoadedObject, LoadError> {
        let options = LoadOptions::new(self.path.clone());
        self.load_with(&options, &mut NoObserver)
    }

    /// Loads the object with its entry program (`entry`, else
    /// `prog_fd[0]`) as a component of libxdp's multi-program dispatcher
    /// on `dev`, in `mode`'s slot, made when the slot is empty: the staged
    /// form of `rxdp-load --multiprog` ([`crate::multiprog::add`], whose
    /// text says how). The component stays until removed
    /// ([`crate::multiprog::remove`], `xdp-loader unload --id`).
    pub fn load_into_dispatcher(
        self,
        dev: &str,
        mode: Mode,
        entry: Option<ProgRef>,
        run: crate::multiprog::RunOverride,
    ) -> Result<crate::multiprog::Added, crate::multiprog::MultiprogError> {
        let mut options = LoadOptions::new(self.path.clone());
        let attach = AttachOptions::new(dev).with_mode(mode);
        options.attach = Some(match entry {
            Some(entry) => attach.with_entry(entry),
            None => attach,
        });
        crate::multiprog::add(self, &options, run, &mut NoObserver)
    }

    /// Loads the object as `options` say (jump entries, pins, an attach,
    /// the verifier log...), telling `observer` each step; what
    /// [`crate::load`] does once the file is open. `options.path` and
    /// `options.max_object_size` are not used: the object is open already.
    pub fn load_with(
        self,
        options: &LoadOptions,
        observer: &mut dyn Observer,
    ) -> Result<LoadedObject, LoadError> {
        let Object {
            file,
            path,
            object_sha1,
            model,
            autoload,
            open,
        } = self;
        // Moved, not copied: a load holds one model (the bench's peak memory).
        let model = selected(model, &autoload);
        // The model that was loaded: without the `?` programs not asked
        // for, made fit for this kernel (`LoadedObject`'s indices are its).
        let (loaded, model) = load_opened(
            Opened {
                file: &file,
                path: &path,
                object_sha1,
                object: model,
                open,
            },
            options,
            observer,
        )?;
        Ok(LoadedObject::new(file, model, loaded))
    }
}

/// `model` without the programs whose autoload is off, jump entries
/// renumbered.
fn selected(mut model: rxdp_elf::Object, autoload: &[bool]) -> rxdp_elf::Object {
    if autoload.iter().all(|&on| on) {
        return model;
    }
    let mut new_index = Vec::with_capacity(autoload.len());
    let mut next = 0;
    for &on in autoload {
        new_index.push(on.then_some(next));
        next += usize::from(on);
    }
    let mut index = 0;
    model.programs.retain(|_| {
        index += 1;
        autoload.get(index - 1).copied().unwrap_or(true)
    });
    model.jump_entries = model
        .jump_entries
        .iter()
        .filter_map(|entry| {
            let program = new_index.get(entry.program).copied().flatten()?;
            let mut entry = *entry;
            entry.program = program;
            Some(entry)
        })
        .collect();
    model
}

#[cfg(test)]
mod tests {
    use super::*;

    /// iproute2's `PIN_OBJECT_NS` names its directory after the SHA-1 of
    /// the whole file, also when the parse read only parts of it.
    #[test]
    fn the_object_hash_is_of_the_whole_file_when_the_parse_read_parts() {
        let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../progs/obj/iproute2_maps.o");
        let mut bytes = std::fs::read(source).unwrap();
        // Bytes after the last section and the section headers: nothing
        // reads them for the parse.
        bytes.resize(rxdp_elf::READ_WHOLE_UP_TO + 1, 0xa5);
        let path = std::env::temp_dir().join(format!("rxdp-object-{}-big.o", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let (parts, complete) = open::read_for_parse(&path, DEFAULT_MAX_OBJECT_SIZE).unwrap();
        let object = Object::open(&path);
        std::fs::remove_file(&path).unwrap();
        assert!(!complete && parts != bytes, "the parse reads parts of it");
        let object = object.unwrap();
        assert!(object.maps().iter().any(|m| m.pinning == Pinning::ObjectNs));
        assert_eq!(object.object_sha1, sha1::hex(&bytes));
    }
}
