//! Stage 8: attach the entry program to the device (`RTM_SETLINK`).
//!
//! - Without `--force`: `XDP_FLAGS_UPDATE_IF_NOEXIST`, so a program already
//!   attached in that mode is never replaced by surprise; the error names it
//!   (id → `BPF_PROG_GET_FD_BY_ID` → name and tag).
//! - With `--force`: the program in that slot (for auto: the native or
//!   generic slot, whichever holds one) is opened by id and replaced
//!   atomically (`XDP_FLAGS_REPLACE` with `IFLA_XDP_EXPECTED_FD`): there is
//!   no moment without a program, and if another loader replaced it
//!   meanwhile the kernel refuses (EEXIST). An empty slot is filled with
//!   `UPDATE_IF_NOEXIST`, for the same reason.
//! - `--mode auto` sends no mode flag (native if the driver has it, else
//!   generic); the mode the kernel chose is read back with a query, because
//!   the pin directory is named after it.
//! - The device was looked up by name before the load; it may have been
//!   renamed, or deleted and its ifindex given to a new one, since. The
//!   query after the attach checks the ifindex still has the name: if not,
//!   the load fails and its program is detached from whatever device holds
//!   that ifindex now.
//! - A slot held by a BPF link cannot be replaced through netlink, not
//!   even with `--force`: the error says so, and who can release it.
//! - With `--link` the program is attached through a BPF link
//!   (`BPF_LINK_CREATE`), returned to be pinned beside the maps. `--force`
//!   then replaces the program of the link holding the slot with
//!   `BPF_LINK_UPDATE` and `BPF_F_REPLACE` (atomic, refused if someone
//!   replaced it meanwhile); a slot netlink filled is refused, since no
//!   call turns a netlink attach into a link without a gap.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use rxdp_syscalls::bpf::{link_create_xdp, link_update, prog_get_fd_by_id, prog_info};
use rxdp_syscalls::netlink::{self, XdpFlags, XdpState};
use rxdp_syscalls::Error as SysError;

use crate::error::LoadError;
use crate::observe::{Event, Observer};
use crate::options::{AttachOptions, EntryChoice, Mode};
use crate::pipeline::{Attached, Context, LoadedProgram};
use crate::rollback::{AttachUndo, Rollback};
use crate::xdp_link;

/// Attaches `prog_fd[entry]` of `programs` to `ifindex` as `options` say;
/// with `--link`, also returns the link to pin.
pub fn attach(
    ctx: &Context<'_>,
    options: &AttachOptions,
    ifindex: u32,
    (entry, program, choice): (usize, &LoadedProgram, EntryChoice),
    rollback: &mut Rollback,
    observer: &mut dyn Observer,
) -> Result<(Attached, Option<OwnedFd>), LoadError> {
    let dev = options.dev.as_str();
    let (prog, prog_id) = (program.fd.as_fd(), program.id);
    let failed = |mode: Mode, error: SysError| LoadError::Attach {
        file: ctx.file.to_string(),
        dev: dev.to_string(),
        mode,
        error,
    };
    // With --force the slot is the one the program to replace is in; for
    // auto that is the native or generic slot, whichever holds one.
    // One socket for the query, the attach and the check after it.
    let mut rtnl = netlink::Rtnl::new();
    let (mode, previous): (Mode, Option<(u32, OwnedFd)>) = if options.force {
        let state = rtnl
            .link_by_index(ifindex)
            .map_err(|e| failed(options.mode, e))?
            .xdp;
        match slot(&state, options.mode) {
            Some((mode, id)) => match prog_get_fd_by_id(id) {
                Ok(fd) => (mode, Some((id, fd))),
                // Detached meanwhile: nothing to replace.
                Err(error) if error.errno == libc::ENOENT => (options.mode, None),
                Err(error) => return Err(failed(options.mode, error)),
            },
            None => (options.mode, None),
        }
    } else {
        (options.mode, None)
    };
    let replaced = previous.as_ref().map(|(id, _)| *id);
    let mut link_out = None;
    if options.link {
        link_out = Some(attach_link(
            ctx, options, ifindex, prog, mode, previous, rollback,
        )?);
    } else {
        let mut flags = mode.flags();
        if previous.is_none() {
            flags |= XdpFlags::UPDATE_IF_NOEXIST;
        }
        let expected = previous.as_ref().map(|(_, fd)| fd.as_fd());
        observer.event(&Event::NetlinkRequest {
            ifindex,
            fd: prog.as_raw_fd(),
            flags,
            expected_fd: expected.map(|fd| fd.as_raw_fd()),
        });
        if let Err(error) = rtnl.attach(ifindex, prog, flags, expected) {
            let expected = previous.map(|(id, _)| id);
            return Err(refused(ctx, options, ifindex, mode, expected, error));
        }
        rollback.attached(AttachUndo {
            ifindex,
            flags: mode.flags(),
            previous: previous.map(|(_, fd)| fd),
            link: None,
        });
    }
    // The device as it is now: still named as the load found it, and the
    // slot the kernel chose (auto).
    let link = match rtnl.link_by_index(ifindex) {
        Ok(link) => Some(link),
        Err(error) if matches!(error.errno, libc::ENODEV | libc::ENOENT) => None,
        Err(error) => return Err(failed(mode, error)),
    };
    let Some(link) = link.filter(|link| link.name == dev) else {
        return Err(LoadError::DeviceChanged {
            file: ctx.file.to_string(),
            dev: dev.to_string(),
            ifindex,
            now: netlink::link_by_index(ifindex).ok().map(|link| link.name),
        });
    };
    let actual = match mode {
        Mode::Auto => {
            let actual = attached_mode(&link.xdp, prog_id).unwrap_or(Mode::Auto);
            rollback.attached_in(actual.flags());
            actual
        }
        mode => mode,
    };
    observer.event(&Event::Attached {
        ifindex,
        mode: actual,
        replaced,
    });
    let link_id = link_out.as_ref().map(|(id, _)| *id);
    Ok((
        Attached {
            ifname: dev.to_string(),
            ifindex,
            mode: actual,
            replaced,
            program: entry,
            choice,
            link: link_id,
        },
        link_out.map(|(_, fd)| fd),
    ))
}

/// The `--link` attach: a new link in an empty slot, or with `--force`
/// the program of the link holding it replaced. Returns the link's id and
/// an fd of it to pin.
fn attach_link(
    ctx: &Context<'_>,
    options: &AttachOptions,
    ifindex: u32,
    prog: std::os::fd::BorrowedFd<'_>,
    mode: Mode,
    previous: Option<(u32, OwnedFd)>,
    rollback: &mut Rollback,
) -> Result<(u32, OwnedFd), LoadError> {
    let dev = options.dev.as_str();
    let failed = |error: SysError| LoadError::Attach {
        file: ctx.file.to_string(),
        dev: dev.to_string(),
        mode,
        error,
    };
    let dup = |fd: &OwnedFd| {
        fd.try_clone().map_err(|e| {
            failed(SysError::new(
                "dup",
                e.raw_os_error().unwrap_or(libc::EMFILE),
            ))
        })
    };
    match previous {
        Some((id, old)) => {
            let Some((link_id, link)) = xdp_link::find(ifindex, id).map_err(failed)? else {
                let name = prog_info(old.as_fd())
                    .map(|info| info.name)
                    .unwrap_or_default();
                return Err(LoadError::NetlinkInTheWay {
                    file: ctx.file.to_string(),
                    dev: dev.to_string(),
                    mode,
                    id,
                    name,
                });
            };
            let undo = dup(&link)?;
            link_update(link.as_fd(), prog, Some(old.as_fd())).map_err(|error| {
                if error.errno == libc::EPERM {
                    LoadError::Raced {
                        file: ctx.file.to_string(),
                        dev: dev.to_string(),
                        mode,
                        id,
                        error,
                    }
                } else {
                    failed(error)
                }
            })?;
            rollback.attached(AttachUndo {
                ifindex,
                flags: mode.flags(),
                previous: Some(old),
                link: Some(undo),
            });
            Ok((link_id, link))
        }
        None => {
            // No UPDATE_IF_NOEXIST: a link never replaces what is there.
            let link = link_create_xdp(prog, ifindex, mode.flags())
                .map_err(|error| refused(ctx, options, ifindex, mode, None, error))?;
            rollback.attached(AttachUndo {
                ifindex,
                flags: mode.flags(),
                previous: None,
                link: Some(dup(&link)?),
            });
            let id = rxdp_syscalls::bpf::link_info(link.as_fd())
                .map_err(failed)?
                .id;
            Ok((id, link))
        }
    }
}

/// The slot `mode` names and the program in it; for auto, the native or
/// generic slot, whichever holds a program.
pub(crate) fn slot(state: &XdpState, mode: Mode) -> Option<(Mode, u32)> {
    let in_slot = |mode: Mode, id: Option<u32>| id.map(|id| (mode, id));
    match mode {
        Mode::Auto => {
            in_slot(Mode::Drv, state.drv_prog_id).or_else(|| in_slot(Mode::Skb, state.skb_prog_id))
        }
        Mode::Skb => in_slot(mode, state.skb_prog_id),
        Mode::Drv => in_slot(mode, state.drv_prog_id),
        Mode::Hw => in_slot(mode, state.hw_prog_id),
    }
}

/// The slot program `id` is attached in.
pub(crate) fn attached_mode(state: &XdpState, id: u32) -> Option<Mode> {
    [
        (state.skb_prog_id, Mode::Skb),
        (state.drv_prog_id, Mode::Drv),
        (state.hw_prog_id, Mode::Hw),
    ]
    .into_iter()
    .find(|(slot, _)| *slot == Some(id))
    .map(|(_, mode)| mode)
}

/// The error for a refused attach: when a program is in the way, its name.
fn refused(
    ctx: &Context<'_>,
    options: &AttachOptions,
    ifindex: u32,
    mode: Mode,
    expected: Option<u32>,
    error: SysError,
) -> LoadError {
    let file = ctx.file.to_string();
    let dev = options.dev.as_str();
    let generic = |error| LoadError::Attach {
        file: file.clone(),
        dev: dev.to_string(),
        mode,
        error,
    };
    // A link, or a program in the other of skb and drv: the kernel's words
    // and the hint say what to do; --force would not help.
    if error.link_holds_slot()
        || (error.errno == libc::EEXIST
            && error
                .kernel_message
                .as_deref()
                .is_some_and(|m| m.contains("Native and generic")))
    {
        return generic(error);
    }
    let in_the_way = matches!(error.errno, libc::EBUSY | libc::EEXIST) && expected.is_none();
    if in_the_way {
        let state = netlink::query(ifindex).ok();
        let id = state.and_then(|state| slot(&state, mode).map(|(_, id)| id).or(state.prog_id));
        if let Some(id) = id {
            let (name, tag) = prog_get_fd_by_id(id)
                .and_then(|fd| prog_info(fd.as_fd()))
                .map(|info| (info.name.clone(), info.tag_hex()))
                .unwrap_or_else(|_| ("?".to_string(), "?".to_string()));
            let held = state
                .and_then(|state| attached_mode(&state, id))
                .unwrap_or(mode);
            // With --force the slot was empty when rxdp looked: another
            // tool attached since.
            if options.force {
                return LoadError::AttachedMeanwhile {
                    file,
                    dev: dev.to_string(),
                    mode: held,
                    id,
                    name,
                    error,
                };
            }
            return LoadError::Busy {
                file,
                dev: dev.to_string(),
                mode: held,
                id,
                name,
                tag,
                error,
            };
        }
    }
    if let (Some(id), libc::EEXIST) = (expected, error.errno) {
        return LoadError::Raced {
            file,
            dev: dev.to_string(),
            mode,
            id,
            error,
        };
    }
    generic(error)
}
