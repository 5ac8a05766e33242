//! Stage 6b: registering the `.struct_ops` maps `--register` names.
//!
//! A struct_ops map's value is the kernel's struct with the programs' fds
//! at their members (laid out by [`rxdp_elf::struct_ops`]); writing it at
//! key 0 (`BPF_MAP_UPDATE_ELEM`) registers it: a TCP congestion control
//! appears in `/proc/sys/net/ipv4/tcp_available_congestion_control`. The
//! kernel then keeps the map alive itself, after rxdp exits and without a
//! pin, until key 0 is deleted (`bpftool struct_ops unregister`, or
//! `BPF_MAP_DELETE_ELEM` on the map). A `.struct_ops.link` map is only
//! made ready by the update: a `BPF_LINK_CREATE` of it would register it
//! for as long as the link lives; rxdp does not make that link.
//!
//! Without `--register` nothing is written, as `bpftool prog loadall`
//! does: the maps and programs exist while the load's fds do.

use std::os::fd::{AsFd, AsRawFd};

use rxdp_elf::struct_ops::KernelLayout;
use rxdp_syscalls::bpf::{map_update_elem, BPF_ANY};

use crate::error::LoadError;
use crate::observe::{Event, Observer};
use crate::pipeline::{Context, LoadedMap, LoadedProgram};
use crate::rollback::Rollback;

/// The maps `register_struct_ops` updated.
#[derive(Debug, Default)]
pub(crate) struct Updated {
    /// `.struct_ops` maps: registered.
    pub registered: Vec<usize>,
    /// `.struct_ops.link` maps: ready for a link.
    pub ready: Vec<usize>,
}

/// Updates each map of `plan` (indexes into `map_fd[]`) with its value,
/// programs' fds in place.
pub(crate) fn register_struct_ops(
    ctx: &Context<'_>,
    plan: &[usize],
    layouts: &[Option<KernelLayout>],
    maps: &[LoadedMap],
    programs: &[LoadedProgram],
    rollback: &mut Rollback,
    observer: &mut dyn Observer,
) -> Result<Updated, LoadError> {
    let mut updated = Updated::default();
    for &index in plan {
        let (Some(map), Some(Some(layout)), Some(loaded)) = (
            ctx.object.maps.get(index),
            layouts.get(index),
            maps.get(index),
        ) else {
            continue;
        };
        let ops = map.struct_ops.as_ref();
        let type_name = ops.map_or("", |o| o.type_name.as_str());
        let value = layout.value_with_fds(|p| programs.get(p).map(|p| p.fd.as_raw_fd()));
        let fail = |error| LoadError::Register {
            file: ctx.file.to_string(),
            index,
            map: map.name.clone(),
            type_name: type_name.to_string(),
            error,
        };
        // The reference to unregister with, taken before there is
        // anything to unregister.
        let reference = loaded.fd.try_clone().map_err(|e| {
            fail(rxdp_syscalls::Error::new(
                "dup",
                e.raw_os_error().unwrap_or(libc::EMFILE),
            ))
        })?;
        map_update_elem(loaded.fd.as_fd(), &0u32.to_ne_bytes(), &value, BPF_ANY).map_err(fail)?;
        let link = ops.is_some_and(|o| o.link);
        if !link {
            rollback.registered(reference, map.name.clone());
        }
        observer.event(&Event::StructOpsRegistered {
            index,
            name: &map.name,
            type_name,
            programs: layout.programs.len(),
            link,
        });
        if link {
            updated.ready.push(index);
        } else {
            updated.registered.push(index);
        }
    }
    Ok(updated)
}
