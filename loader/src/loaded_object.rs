//! The staged API, second stage: an object in the kernel, its maps as typed
//! handles, its programs ready to attach.
//!
//! A [`LoadedObject`] owns every fd of the load ([`Loaded`]); dropping it
//! closes them. A program attached with [`LoadedObject::attach_xdp`] stays
//! attached as long as its [`XdpAttachment`] is not dropped (or for good,
//! once [`kept`](XdpAttachment::keep)); but a prog array the object owns
//! is emptied by the kernel when its last fd closes, so keep the
//! `LoadedObject` while tail calls must work, or load with pins
//! ([`crate::LoadOptions::pins`]).
//!
//! ```no_run
//! use rxdp::{Mode, Object};
//!
//! let loaded = Object::open("tail_kern.o")?.load()?;
//! // rxdp-load tail_kern.o --map 0 --key 78 --prog 1: prog_fd[1] at key 78.
//! loaded.prog_array(0)?.set(78, loaded.program(1)?)?;
//! let attachment = loaded.attach_xdp(0, "veth0", Mode::Skb)?;
//! println!("attached id {} in {} mode", attachment.prog_id(), attachment.mode());
//! attachment.detach()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::PathBuf;

use bytemuck::Pod;
use rxdp_syscalls::{fs::bpffs, netlink};

use crate::attach::attach;
use crate::error::LoadError;
use crate::observe::NoObserver;
use crate::options::{
    jump_plan, resolve_entry, resolve_map, AttachOptions, LoadOptions, MapRef, Mode, OptionError,
    ProgRef,
};
use crate::pipeline::{Context, Loaded, LoadedMap, LoadedProgram};
use crate::rollback::Rollback;
use crate::typed_maps::{Array, HashMap, MapError, PerCpuArray, PerCpuHashMap, ProgArray};
use crate::xdp::{XdpAttachment, XdpLink};

/// An object loaded into the kernel: `map_fd[]` and `prog_fd[]`, owned.
pub struct LoadedObject {
    file: String,
    /// The model the load ran on (programs left out already removed).
    model: rxdp_elf::Object,
    loaded: Loaded,
}

/// What the load made; not the object's instructions.
impl std::fmt::Debug for LoadedObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedObject")
            .field("file", &self.file)
            .field("loaded", &self.loaded)
            .finish_non_exhaustive()
    }
}

impl LoadedObject {
    pub(crate) fn new(file: String, model: rxdp_elf::Object, loaded: Loaded) -> LoadedObject {
        LoadedObject {
            file,
            model,
            loaded,
        }
    }

    /// Everything the load made and measured: fds, ids, pins, the attach
    /// (when the options asked for one), timings, warnings.
    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }

    /// The [`Loaded`] record, for code written against [`crate::load`].
    pub fn into_loaded(self) -> Loaded {
        self.loaded
    }

    /// `map_fd[]`.
    pub fn maps(&self) -> &[LoadedMap] {
        &self.loaded.maps
    }

    /// `prog_fd[]`: the programs loaded, in object order.
    pub fn programs(&self) -> &[LoadedProgram] {
        &self.loaded.programs
    }

    /// The map `map` names: its index in `map_fd[]` or its name.
    pub fn map(&self, map: impl Into<MapRef>) -> Result<&LoadedMap, MapError> {
        let index = resolve_map(&self.model, &map.into()).map_err(|error| MapError::NotFound {
            file: self.file.clone(),
            error,
        })?;
        Ok(&self.loaded.maps[index])
    }

    /// The program `program` names: its index in `prog_fd[]`, its
    /// function name, or its section name.
    pub fn program(&self, program: impl Into<ProgRef>) -> Result<&LoadedProgram, LoadError> {
        let index =
            crate::options::resolve_program(&self.model, &program.into()).map_err(|error| {
                LoadError::Option {
                    file: self.file.clone(),
                    error,
                }
            })?;
        Ok(&self.loaded.programs[index])
    }

    /// The `PROG_ARRAY` `map` names.
    pub fn prog_array(&self, map: impl Into<MapRef>) -> Result<ProgArray<'_>, MapError> {
        ProgArray::new(self.map(map)?)
    }

    /// The `ARRAY` `map` names, with index type `K` and value type `V`.
    pub fn array<K: Pod + Into<u64>, V: Pod>(
        &self,
        map: impl Into<MapRef>,
    ) -> Result<Array<'_, K, V>, MapError> {
        Array::new(self.map(map)?)
    }

    /// The `HASH` or `LRU_HASH` `map` names.
    pub fn hash_map<K: Pod, V: Pod>(
        &self,
        map: impl Into<MapRef>,
    ) -> Result<HashMap<'_, K, V>, MapError> {
        HashMap::new(self.map(map)?)
    }

    /// The `PERCPU_ARRAY` `map` names.
    pub fn per_cpu_array<K: Pod + Into<u64>, V: Pod>(
        &self,
        map: impl Into<MapRef>,
    ) -> Result<PerCpuArray<'_, K, V>, MapError> {
        PerCpuArray::new(self.map(map)?)
    }

    /// The `PERCPU_HASH` or `LRU_PERCPU_HASH` `map` names.
    pub fn per_cpu_hash_map<K: Pod, V: Pod>(
        &self,
        map: impl Into<MapRef>,
    ) -> Result<PerCpuHashMap<'_, K, V>, MapError> {
        PerCpuHashMap::new(self.map(map)?)
    }

    /// Attaches `program` to device `dev` in `mode` through rtnetlink, as
    /// [`attach_xdp_with`](LoadedObject::attach_xdp_with) does without
    /// `force`: a program already in that slot is an error naming it.
    pub fn attach_xdp(
        &self,
        program: impl Into<ProgRef>,
        dev: &str,
        mode: Mode,
    ) -> Result<XdpAttachment, LoadError> {
        let options = AttachOptions::new(dev)
            .with_mode(mode)
            .with_entry(program.into());
        self.attach_xdp_with(&options)
    }

    /// Attaches through rtnetlink (`RTM_SETLINK`) as `options` say — the
    /// attach stage of [`crate::load`]: with `force`, the program in the
    /// slot is replaced atomically; without `entry`, `prog_fd[0]`. The
    /// [`XdpAttachment`] detaches the program when dropped or
    /// [`detach`](XdpAttachment::detach)ed, unless
    /// [`keep`](XdpAttachment::keep) says it stays.
    ///
    /// `Mode::Hw` needs programs and maps bound to the device at load:
    /// load with [`crate::LoadOptions::attach`] for that.
    pub fn attach_xdp_with(&self, options: &AttachOptions) -> Result<XdpAttachment, LoadError> {
        if options.link {
            return Err(LoadError::Option {
                file: self.file.clone(),
                error: OptionError::NotHere {
                    option: "AttachOptions::link",
                    instead: "LoadedObject::attach_xdp_link attaches through a BPF link",
                },
            });
        }
        // The attachment's own reference to the program, taken before the
        // attach so that nothing can fail between the attach and the handle.
        let target = self.entry(options)?;
        let prog = self.loaded.programs[target.0]
            .fd
            .try_clone()
            .map_err(|error| self.device_error(&options.dev, error))?;
        let (attached, prog_id, _) = self.attach_stage(options, target)?;
        Ok(XdpAttachment::new(attached, prog_id, prog))
    }

    /// Attaches `program` to `dev` through a BPF link (`BPF_LINK_CREATE`,
    /// kernel 5.9): the kernel detaches it when the last reference to the
    /// link goes (the [`XdpLink`] dropped, unless
    /// [`pin`](XdpLink::pin)ned), and no netlink attach can replace it
    /// meanwhile. A program attached through netlink in that slot is an
    /// error naming it, as in the attach stage of [`crate::load`].
    pub fn attach_xdp_link(
        &self,
        program: impl Into<ProgRef>,
        dev: &str,
        mode: Mode,
    ) -> Result<XdpLink, LoadError> {
        let options = AttachOptions::new(dev)
            .with_mode(mode)
            .with_entry(program.into())
            .with_link(true);
        let target = self.entry(&options)?;
        let (attached, prog_id, link) = self.attach_stage(&options, target)?;
        // With `link` set the stage hands back the link it made; a stage
        // that did not is refused rather than trusted.
        let link = link.ok_or_else(|| LoadError::Attach {
            file: self.file.clone(),
            dev: dev.to_string(),
            mode,
            error: rxdp_syscalls::Error::new("BPF_LINK_CREATE", libc::ENOLINK),
        })?;
        Ok(XdpLink::new(
            link,
            dev,
            attached.ifindex,
            attached.mode,
            prog_id,
        ))
    }

    /// The attach stage of [`crate::load`] on the program [`entry`](Self::entry)
    /// chose: its rollback record is dropped, the handle made from the
    /// result being the undo.
    fn attach_stage(
        &self,
        options: &AttachOptions,
        (entry, choice, ifindex): (usize, crate::EntryChoice, u32),
    ) -> Result<(crate::Attached, u32, Option<std::os::fd::OwnedFd>), LoadError> {
        let mut load_options = LoadOptions::new(&self.loaded.file);
        load_options.attach = Some(options.clone());
        let ctx = Context {
            file: &self.file,
            object: &self.model,
            options: &load_options,
            offload: 0,
            bpffs_root: PathBuf::from(bpffs::DEFAULT_MOUNT),
            object_sha1: String::new(),
            pin_target: None,
            hints_ifindex: None,
        };
        let program = &self.loaded.programs[entry];
        let mut rollback = Rollback::default();
        let (attached, link) = attach(
            &ctx,
            options,
            ifindex,
            (entry, program, choice),
            &mut rollback,
            &mut NoObserver,
        )?;
        Ok((attached, program.id, link))
    }

    /// The program to attach and the device's ifindex.
    fn entry(
        &self,
        options: &AttachOptions,
    ) -> Result<(usize, crate::EntryChoice, u32), LoadError> {
        let option_error = |error| LoadError::Option {
            file: self.file.clone(),
            error,
        };
        let plan = jump_plan(&self.model, &[]).map_err(option_error)?;
        let (entry, choice) =
            resolve_entry(&self.model, options.entry.as_ref(), &plan).map_err(option_error)?;
        let ifindex = netlink::ifindex(&options.dev).map_err(|error| LoadError::Device {
            file: self.file.clone(),
            dev: options.dev.clone(),
            error,
        })?;
        Ok((entry, choice, ifindex))
    }

    fn device_error(&self, dev: &str, error: std::io::Error) -> LoadError {
        LoadError::Device {
            file: self.file.clone(),
            dev: dev.to_string(),
            error: rxdp_syscalls::Error::new("dup", error.raw_os_error().unwrap_or(libc::EMFILE)),
        }
    }
}
