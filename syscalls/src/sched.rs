//! The CPUs this process may run on, for sizing a pool of threads.

use nix::sched::{sched_getaffinity, CpuSet};
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::seam;

/// How many CPUs the calling thread may run on: its affinity mask
/// (`sched_getaffinity(2)`), which `taskset` and cpusets narrow, rather
/// than the CPUs the machine has.
pub fn usable_cpus() -> Result<usize> {
    seam::enter("sched_getaffinity", || {
        let set = sched_getaffinity(Pid::from_raw(0))
            .map_err(|errno| Error::new("sched_getaffinity", errno as i32))?;
        Ok((0..CpuSet::count())
            .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
            .count())
    })
}

#[cfg(test)]
mod tests {
    /// The kernel's own list of the same mask, `Cpus_allowed_list: 0-1,4`.
    fn allowed_in_proc_status() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let list = status
            .lines()
            .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
            .unwrap()
            .trim();
        list.split(',')
            .map(|range| match range.split_once('-') {
                Some((first, last)) => {
                    last.parse::<usize>().unwrap() - first.parse::<usize>().unwrap() + 1
                }
                None => 1,
            })
            .sum()
    }

    #[test]
    fn the_count_is_the_kernels_allowed_list() {
        assert_eq!(super::usable_cpus().unwrap(), allowed_in_proc_status());
    }
}
