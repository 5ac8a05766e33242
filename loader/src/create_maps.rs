//! Stage 3: `BPF_MAP_CREATE` for every map, giving `map_fd[]`.
//!
//! - **Order.** Maps are created in `map_fd[]` order, except that the inner
//!   map of a map-in-map (`inner_map_idx`, iproute2 `inner_id`) is created
//!   before its outer map: the kernel takes it as the template
//!   (`inner_map_fd`). An inner definition given inline (BTF
//!   `__array(values, struct {...})`) becomes a template map of its own,
//!   closed once the outer map exists.
//! - **BTF.** Key and value type ids are passed with the object's BTF. The
//!   kernel refuses them on some map types (`map_check_no_btf`: prog
//!   arrays, map-in-map, perf-event arrays...) with EINVAL or ENOTSUPP;
//!   rather than keep a list of types, such a map is created once more
//!   without them, as libbpf does, and `--explain` says so.
//! - **Shared maps.** A map pinned by iproute2 `pinning` or
//!   `LIBBPF_PIN_BY_NAME` is looked up at its path first: if a compatible
//!   map (type, key size, value size, max entries, flags) is pinned there it
//!   is used as it is — not created, not filled — and an incompatible one is
//!   an error naming the field. The pin must be one of root's, reached
//!   without a symlink (a name another user planted in a world-writable
//!   bpffs would hand root's program someone else's map). Otherwise the
//!   map is created and pinned there, and a failed load unpins it — except
//!   under `--no-pin`, which pins nothing: the map is then the load's own.
//! - **Contents.** Global data (`.data`, `.rodata`) and the `.kconfig`
//!   values are written at key 0, and `.rodata*` and `.kconfig` are frozen
//!   (`BPF_MAP_FREEZE`): user space can no longer change them, and the
//!   verifier may treat their values as constants (dead code behind a
//!   `CONFIG_` test is pruned).
//!   Map-in-map initialisers store their inner maps once every map exists.
//! - **Offload.** In hw mode every map but perf-event arrays is created on
//!   the device (`map_ifindex`).
//! - **struct_ops.** A `.struct_ops` variable's map is created with the
//!   kernel's value type (`btf_vmlinux_value_type_id`) and size, laid out
//!   beforehand against the kernel's BTF ([`rxdp_elf::struct_ops`]); it is
//!   left empty here: its update, with the programs' fds, registers it
//!   (`register_struct_ops`).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::rc::Rc;

use rxdp_elf::btf::KCONFIG_SECTION;
use rxdp_elf::struct_ops::KernelLayout;
use rxdp_elf::{InnerMap, Map, MapDef, MapType};
use rxdp_syscalls::bpf::{map_create, map_info, MapCreate, MapHandle, MapInfo, BPF_ANY};
use rxdp_syscalls::fs::Dir;
use rxdp_syscalls::{Error as SysError, ENOTSUPP};

use crate::error::LoadError;
use crate::observe::{Event, Observer, Stage};
use crate::options::PinPolicy;
use crate::pin;
use crate::pipeline::{Context, LoadedMap};
use crate::rollback::Rollback;

/// Errnos with which the kernel refuses something a device cannot offload,
/// before the verifier looked at an instruction: no log, or (a device's
/// `prepare` callback refusing inside `bpf_check()`, as netdevsim's
/// `bpf_bind_accept` does) a log of nothing but "processed 0 insns".
pub(crate) fn is_offload_refusal(error: &SysError) -> bool {
    matches!(error.errno, libc::EINVAL | libc::EOPNOTSUPP | ENOTSUPP)
        && error.log.as_deref().is_none_or(|log| {
            log.lines()
                .all(|line| line.trim().is_empty() || line.starts_with("processed 0 insns"))
        })
}

/// Creates (or reuses) every map of the object, in `map_fd[]` order.
/// `layouts[i]` is the kernel layout of struct_ops map `i`.
pub fn create_maps(
    ctx: &Context<'_>,
    btf: Option<BorrowedFd<'_>>,
    layouts: &[Option<KernelLayout>],
    rollback: &mut Rollback,
    observer: &mut dyn Observer,
) -> Result<Vec<LoadedMap>, LoadError> {
    let maps = &ctx.object.maps;
    let mut made: Vec<Option<LoadedMap>> = maps.iter().map(|_| None).collect();
    for index in creation_order(ctx, maps)? {
        let map = match layouts.get(index).and_then(Option::as_ref) {
            Some(layout) => create_struct_ops(ctx, index, btf, layout, observer)?,
            None => create_one(ctx, index, btf, &made, rollback, observer)?,
        };
        made[index] = Some(map);
    }
    let made: Vec<LoadedMap> = made.into_iter().flatten().collect();
    fill_slots(ctx, &made, observer)?;
    Ok(made)
}

/// `map_fd[]` order, each inner map moved before its first outer map.
fn creation_order(ctx: &Context<'_>, maps: &[Map]) -> Result<Vec<usize>, LoadError> {
    let mut order = Vec::with_capacity(maps.len());
    for index in 0..maps.len() {
        // Follow the inner-map chain; at most maps.len() links without a loop.
        let mut chain = vec![index];
        let mut current = index;
        while let Some(InnerMap::Index(inner)) = maps.get(current).and_then(|m| m.inner.as_ref()) {
            if chain.contains(inner) || *inner >= maps.len() {
                return Err(LoadError::Map {
                    file: ctx.file.to_string(),
                    index,
                    map: maps[index].name.clone(),
                    what: format!(
                        "its inner map chain {chain:?} -> {inner} loops or leaves the object"
                    ),
                    error: SysError::new("BPF_MAP_CREATE", libc::EINVAL),
                });
            }
            chain.push(*inner);
            current = *inner;
        }
        for &map in chain.iter().rev() {
            if !order.contains(&map) {
                order.push(map);
            }
        }
    }
    Ok(order)
}

fn map_error(
    ctx: &Context<'_>,
    index: usize,
    what: impl Into<String>,
    error: SysError,
) -> LoadError {
    let map = &ctx.object.maps[index];
    if ctx.offload != 0 && is_offload_refusal(&error) && error.op == "BPF_MAP_CREATE" {
        return LoadError::Offload {
            file: ctx.file.to_string(),
            stage: Stage::CreateMaps,
            dev: ctx.device_name().to_string(),
            what: format!("map_fd[{index}] {}", map.name),
            error,
        };
    }
    LoadError::Map {
        file: ctx.file.to_string(),
        index,
        map: map.name.clone(),
        what: what.into(),
        error,
    }
}

fn create_one(
    ctx: &Context<'_>,
    index: usize,
    btf: Option<BorrowedFd<'_>>,
    made: &[Option<LoadedMap>],
    rollback: &mut Rollback,
    observer: &mut dyn Observer,
) -> Result<LoadedMap, LoadError> {
    let map = &ctx.object.maps[index];
    let shared = pin::shared_pin(
        map,
        &ctx.bpffs_root,
        &ctx.object_sha1,
        ctx.pin_target.as_ref(),
    );
    let shared_error = |error| LoadError::SharedPin {
        file: ctx.file.to_string(),
        index,
        map: map.name.clone(),
        error,
    };
    let shared_dir = match &shared {
        // --no-pin makes no directory: it only looks for a pin to reuse.
        Some(pin) => pin::open_shared_dir(
            pin,
            &ctx.bpffs_root,
            ctx.pin_target.as_ref(),
            ctx.options.pins != PinPolicy::Never,
            rollback,
        )
        .map_err(shared_error)?,
        None => None,
    };
    if let (Some(pin), Some(dir)) = (&shared, &shared_dir) {
        if let Some(fd) = pin::open_shared_pin(dir, &pin.name).map_err(shared_error)? {
            return reuse(ctx, index, fd, pin.path.clone(), pin.in_load_dir, observer);
        }
    }

    // The inner map's template: another map of the object, or one made here.
    let template = match &map.inner {
        Some(InnerMap::Def {
            def,
            btf_key_type_id,
            btf_value_type_id,
        }) => {
            let name = format!("{}_inner", map.name);
            // With the BTF of its key and value, as libbpf makes it: the
            // kernel compares the records (spin lock, timer, kptr) of the
            // maps stored in the outer map with the template's.
            let template_btf = btf
                .filter(|_| *btf_key_type_id != 0 || *btf_value_type_id != 0)
                .map(|fd| (fd, *btf_key_type_id, *btf_value_type_id));
            let fd = create(ctx, &name, def, None, template_btf)
                .map(|(fd, _)| fd)
                .map_err(|error| map_error(ctx, index, "create its inner-map template", error))?;
            observer.event(&Event::InnerTemplate {
                outer: index,
                fd: fd.as_raw_fd(),
            });
            Some(fd)
        }
        _ => None,
    };
    let inner_fd = match (&map.inner, &template) {
        (_, Some(template)) => Some(template.as_fd()),
        (Some(InnerMap::Index(inner)), None) => made
            .get(*inner)
            .and_then(Option::as_ref)
            .map(|m| m.fd.as_fd()),
        _ => None,
    };
    let btf = btf
        .filter(|_| map.btf_key_type_id != 0 || map.btf_value_type_id != 0)
        .map(|fd| (fd, map.btf_key_type_id, map.btf_value_type_id));
    let (fd, without_btf) = create(ctx, &map.name, &map.def, inner_fd, btf).map_err(|error| {
        let what = if error.errno == ENOTSUPP && inner_spin_locked(ctx, map) {
            // `bpf_map_meta_alloc` refused inner maps holding a spin lock
            // with ENOTSUPP until Linux 6.2.
            "create (its inner maps' values hold a bpf_spin_lock, which map-in-map maps take \
             from Linux 6.2 on)"
        } else {
            "create"
        };
        map_error(ctx, index, what, error)
    })?;
    // The kernel copied what it needs of the template.
    drop(template);
    observer.event(&Event::MapCreated {
        index,
        name: &map.name,
        map_type: map.def.map_type,
        fd: fd.as_raw_fd(),
        without_btf,
        ifindex: map_ifindex(ctx, &map.def),
    });

    if let Some(data) = &map.data {
        let handle = MapHandle::new(fd.as_fd())
            .map_err(|error| map_error(ctx, index, "read its sizes", error))?;
        handle
            .update(&0u32.to_ne_bytes(), data, BPF_ANY)
            .map_err(|error| {
                map_error(
                    ctx,
                    index,
                    format!("write its {} bytes of initial data", data.len()),
                    error,
                )
            })?;
        observer.event(&Event::MapFilled {
            index,
            bytes: data.len(),
        });
    }
    if map.section.starts_with(".rodata") || map.section == KCONFIG_SECTION {
        rxdp_syscalls::bpf::map_freeze(fd.as_fd())
            .map_err(|error| map_error(ctx, index, "freeze", error))?;
        observer.event(&Event::MapFrozen { index });
    }
    // --no-pin: a shared map that was not there to reuse is not pinned.
    let shared = shared.filter(|_| ctx.options.pins != PinPolicy::Never);
    let mut loaded = made_map(ctx, index, fd, shared.is_some())?;
    if let Some(pin) = shared {
        match shared_dir {
            Some(dir) if !pin.in_load_dir => {
                pin_shared(ctx, index, &loaded, dir, &pin.name, rollback)?;
                observer.event(&Event::SharedPinCreated {
                    index,
                    path: &pin.path,
                });
                loaded.pin = Some(pin.path);
            }
            // Pinned with the load's maps, in the staging directory.
            _ => loaded.in_load_dir = true,
        }
    }
    Ok(loaded)
}

/// A struct_ops map: the kernel's value type and size, the object's BTF,
/// no key/value type ids (libbpf's way), nothing written yet.
fn create_struct_ops(
    ctx: &Context<'_>,
    index: usize,
    btf: Option<BorrowedFd<'_>>,
    layout: &KernelLayout,
    observer: &mut dyn Observer,
) -> Result<LoadedMap, LoadError> {
    let map = &ctx.object.maps[index];
    let mut request = MapCreate::new(
        map.def.map_type.0,
        map.def.key_size,
        layout.value.len() as u32,
        map.def.max_entries,
    );
    request.flags = map.def.flags;
    request.name = &map.name;
    request.btf_fd = btf;
    request.btf_vmlinux_value_type_id = layout.value_type_id;
    let fd = map_create(&request).map_err(|error| map_error(ctx, index, "create", error))?;
    observer.event(&Event::MapCreated {
        index,
        name: &map.name,
        map_type: map.def.map_type,
        fd: fd.as_raw_fd(),
        without_btf: false,
        ifindex: 0,
    });
    made_map(ctx, index, fd, false)
}

/// `map_fd[index]`, just made: its kernel id read back.
fn made_map(
    ctx: &Context<'_>,
    index: usize,
    fd: OwnedFd,
    shared: bool,
) -> Result<LoadedMap, LoadError> {
    let map = &ctx.object.maps[index];
    let info = map_info(fd.as_fd()).map_err(|error| map_error(ctx, index, "read its id", error))?;
    Ok(LoadedMap {
        name: map.name.clone(),
        map_type: map.def.map_type,
        fd,
        id: info.id,
        pin: None,
        reused: false,
        shared,
        in_load_dir: false,
    })
}

/// `map_ifindex`: the device in hw mode, except for perf-event arrays,
/// which stay on the host.
fn map_ifindex(ctx: &Context<'_>, def: &MapDef) -> u32 {
    if def.map_type == MapType::PERF_EVENT_ARRAY {
        0
    } else {
        ctx.offload
    }
}

/// Whether `map`'s inner maps (its template, inline or another map of
/// the object) have values holding a `bpf_spin_lock`, by the object's BTF.
fn inner_spin_locked(ctx: &Context<'_>, map: &rxdp_elf::Map) -> bool {
    let value = match &map.inner {
        Some(InnerMap::Def {
            btf_value_type_id, ..
        }) => *btf_value_type_id,
        Some(InnerMap::Index(inner)) => ctx
            .object
            .maps
            .get(*inner)
            .map_or(0, |m| m.btf_value_type_id),
        _ => 0,
    };
    value != 0
        && ctx
            .object
            .btf
            .as_ref()
            .is_some_and(|btf| btf.holds_struct(value, "bpf_spin_lock"))
}

/// `BPF_MAP_CREATE` (with the BTF fd and key/value type ids in `btf`),
/// once more without BTF when the kernel refuses the ids. Returns the fd
/// and whether the ids were dropped.
fn create(
    ctx: &Context<'_>,
    name: &str,
    def: &MapDef,
    inner_map_fd: Option<BorrowedFd<'_>>,
    btf: Option<(BorrowedFd<'_>, u32, u32)>,
) -> Result<(OwnedFd, bool), SysError> {
    let mut request = MapCreate::new(
        def.map_type.0,
        def.key_size,
        def.value_size,
        def.max_entries,
    );
    request.flags = def.flags;
    request.name = name;
    request.inner_map_fd = inner_map_fd;
    request.numa_node = def.numa_node;
    request.ifindex = map_ifindex(ctx, def);
    request.btf_fd = btf.map(|(fd, _, _)| fd);
    request.btf_key_type_id = btf.map_or(0, |(_, key, _)| key);
    request.btf_value_type_id = btf.map_or(0, |(_, _, value)| value);
    request.map_extra = def.map_extra;
    match map_create(&request) {
        Ok(fd) => Ok((fd, false)),
        Err(error)
            if btf.is_some()
                && matches!(error.errno, libc::EINVAL | ENOTSUPP)
                && !error.is_injected() =>
        {
            let mut plain = request;
            plain.btf_fd = None;
            plain.btf_key_type_id = 0;
            plain.btf_value_type_id = 0;
            map_create(&plain).map(|fd| (fd, true))
        }
        Err(error) => Err(error),
    }
}

fn pin_shared(
    ctx: &Context<'_>,
    index: usize,
    map: &LoadedMap,
    dir: Rc<Dir>,
    name: &str,
    rollback: &mut Rollback,
) -> Result<(), LoadError> {
    dir.pin(map.fd.as_fd(), name).map_err(|error| {
        map_error(
            ctx,
            index,
            format!("pin at {}", dir.join(name).display()),
            error,
        )
    })?;
    rollback.pinned(dir, name.to_string());
    Ok(())
}

/// A pinned map found at a shared path: used if compatible.
fn reuse(
    ctx: &Context<'_>,
    index: usize,
    fd: OwnedFd,
    path: PathBuf,
    in_load_dir: bool,
    observer: &mut dyn Observer,
) -> Result<LoadedMap, LoadError> {
    let map = &ctx.object.maps[index];
    let info = map_info(fd.as_fd()).map_err(|error| {
        map_error(
            ctx,
            index,
            format!("read the map pinned at {}", path.display()),
            error,
        )
    })?;
    if let Some((field, pinned, ours)) = mismatch(&info, &map.def) {
        return Err(LoadError::PinMismatch {
            file: ctx.file.to_string(),
            index,
            map: map.name.clone(),
            path,
            field,
            pinned,
            ours,
        });
    }
    observer.event(&Event::MapReused {
        index,
        name: &map.name,
        path: &path,
        fd: fd.as_raw_fd(),
    });
    Ok(LoadedMap {
        name: map.name.clone(),
        map_type: map.def.map_type,
        fd,
        id: info.id,
        pin: (!in_load_dir).then_some(path),
        reused: true,
        shared: true,
        in_load_dir,
    })
}

/// The first field in which a pinned map differs from the definition.
pub(crate) fn mismatch(info: &MapInfo, def: &MapDef) -> Option<(&'static str, u64, u64)> {
    [
        ("type", info.map_type, def.map_type.0),
        ("key size", info.key_size, def.key_size),
        ("value size", info.value_size, def.value_size),
        ("max entries", info.max_entries, def.max_entries),
        ("flags", info.flags, def.flags),
    ]
    .into_iter()
    .find(|(_, pinned, ours)| pinned != ours)
    .map(|(field, pinned, ours)| (field, u64::from(pinned), u64::from(ours)))
}

/// Stores the inner maps of map-in-map initialisers (`init_maps`), in
/// object order, skipping maps that were reused as they are.
fn fill_slots(
    ctx: &Context<'_>,
    made: &[LoadedMap],
    observer: &mut dyn Observer,
) -> Result<(), LoadError> {
    for (outer, map) in ctx.object.maps.iter().enumerate() {
        if map.init_maps.is_empty() || made[outer].reused {
            continue;
        }
        let handle = MapHandle::new(made[outer].fd.as_fd())
            .map_err(|error| map_error(ctx, outer, "read its sizes", error))?;
        for slot in &map.init_maps {
            let Some(inner) = made.get(slot.map) else {
                continue;
            };
            let value = (inner.fd.as_raw_fd() as u32).to_ne_bytes();
            handle
                .update(&slot.key.to_ne_bytes(), &value, BPF_ANY)
                .map_err(|error| {
                    map_error(
                        ctx,
                        outer,
                        format!(
                            "store map_fd[{}] {} at key {}",
                            slot.map, inner.name, slot.key
                        ),
                        error,
                    )
                })?;
            observer.event(&Event::MapSlotFilled {
                outer,
                key: slot.key,
                inner: slot.map,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tests::map;

    #[test]
    fn pinned_maps_are_compared_field_by_field() {
        let def = map("m", MapType::ARRAY, 4).def;
        let info = MapInfo {
            map_type: 2,
            key_size: 4,
            value_size: 4,
            max_entries: 4,
            ..MapInfo::default()
        };
        assert_eq!(mismatch(&info, &def), None);
        let bigger = MapInfo {
            max_entries: 8,
            ..info.clone()
        };
        assert_eq!(mismatch(&bigger, &def), Some(("max entries", 8, 4)));
        let hash = MapInfo {
            map_type: 1,
            ..info
        };
        assert_eq!(mismatch(&hash, &def), Some(("type", 1, 2)));
    }
}
