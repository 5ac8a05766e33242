//! libxdp's run configuration of an XDP program, `XDP_RUN_CONFIG(func)`
//! of xdp-tools' `xdp_helpers.h`: a variable `_func` in section
//! `.xdp_run_config` whose struct members carry numbers the way BTF map
//! definitions do (`__uint(priority, 10)`: a pointer to an array of 10),
//! read only through BTF:
//!
//! - `priority`: the run priority in a multi-program dispatcher (lower
//!   runs first);
//! - `XDP_ABORTED`, `XDP_DROP`, `XDP_PASS`, `XDP_TX`, `XDP_REDIRECT`: 1
//!   makes that verdict a chain-call action (the dispatcher goes on to
//!   the next program), 0 makes it final. Each member changes libxdp's
//!   default, chain on `XDP_PASS` only.
//!
//! Any other member is refused, as libxdp refuses it.

use super::error::{BtfError, MapProblem};
use super::types::BtfKind;
use super::Btf;

/// The section of the run configurations.
pub const XDP_RUN_CONFIG_SECTION: &str = ".xdp_run_config";

/// The XDP actions by verdict (`enum xdp_action`): bit N of a chain-call
/// bitmap is verdict N.
pub const XDP_ACTIONS: [&str; 5] = [
    "XDP_ABORTED",
    "XDP_DROP",
    "XDP_PASS",
    "XDP_TX",
    "XDP_REDIRECT",
];

/// A program's run priority and chain-call actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XdpRunConfig {
    /// Lower runs first (`XDP_DEFAULT_RUN_PRIO`: 50).
    pub priority: u32,
    /// Bit N set: after verdict N the next program runs.
    pub chain_call_actions: u32,
}

impl Default for XdpRunConfig {
    /// libxdp's defaults: priority 50, chain on `XDP_PASS`.
    fn default() -> XdpRunConfig {
        XdpRunConfig {
            priority: 50,
            chain_call_actions: 1 << 2,
        }
    }
}

impl Btf {
    /// The run configuration `XDP_RUN_CONFIG(program)` declares, starting
    /// from the defaults; `None` when the object declares none for it.
    pub fn xdp_run_config(&self, program: &str) -> Result<Option<XdpRunConfig>, BtfError> {
        let wanted = format!("_{program}");
        let fail = |problem| BtfError::RunConfig {
            program: program.to_owned(),
            problem,
        };
        for (_, section, vars) in self.datasecs()? {
            if section != XDP_RUN_CONFIG_SECTION {
                continue;
            }
            for var in vars {
                let t = self.type_by_id(var.type_id)?;
                if t.kind != BtfKind::Var || self.string(t.name_off)? != wanted {
                    continue;
                }
                let def = self.type_by_id(self.resolve(t.size_or_type)?)?;
                if def.kind != BtfKind::Struct {
                    return Err(fail(MapProblem::NotStruct {
                        kind: def.kind.name(),
                    }));
                }
                let mut config = XdpRunConfig::default();
                for m in def.members() {
                    let name = self.string(m.name_off)?;
                    let value = self.uint_member(name, m).map_err(fail)?;
                    if name == "priority" {
                        config.priority = value;
                        continue;
                    }
                    let Some(action) = XDP_ACTIONS.iter().position(|a| *a == name) else {
                        return Err(fail(MapProblem::UnknownRunConfigMember {
                            member: name.to_owned(),
                        }));
                    };
                    if value != 0 {
                        config.chain_call_actions |= 1 << action;
                    } else {
                        config.chain_call_actions &= !(1 << action);
                    }
                }
                return Ok(Some(config));
            }
        }
        Ok(None)
    }
}
