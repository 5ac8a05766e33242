//! A few threads running numbered jobs, whose results come back in the
//! order of their numbers: the program-load stage verifies `prog_fd[]`
//! concurrently and still reports it as a load one by one would.
//!
//! - Jobs start in increasing index order, each once its prerequisites
//!   have succeeded (`after[i]`: the jobs `i` needs done first).
//! - `done(i, &result)` is called on the calling thread, for 0, 1, 2, ...
//!   in that order, as soon as job `i` and every job before it succeeded:
//!   the caller's observer never sees an order that depends on timing.
//! - The first failure stops the pool: no job starts after it, those
//!   under way finish, and the failure returned is the one of the lowest
//!   index. Because jobs start in index order, every job below it has run,
//!   so that is the failure a serial run would have met first, and `done`
//!   has been called exactly for the jobs before it.
//! - One job at a time runs everything on the calling thread, in order:
//!   no thread is made.
//! - A job that panics stops the pool like a failure, and the panic goes
//!   on in the calling thread (a panicking job must not leave it waiting).

use std::any::Any;
use std::num::NonZeroUsize;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

/// Each worker's stack. A job's buffers live on the heap; the default
/// 2 MiB is address space no job here uses.
const STACK: usize = 256 << 10;

/// Why [`run`] did not finish every job.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stopped<E> {
    /// The job of this index, the lowest that failed, failed so.
    Failed(usize, E),
    /// The job of this index can never start: its prerequisites lead back
    /// to it, or name a job that does not exist.
    Stuck(usize),
}

/// Where job `i` stands.
enum Slot<T, E> {
    Waiting,
    Running,
    /// Succeeded; the value until the calling thread takes it.
    Done(Option<T>),
    Failed(E),
    /// The job panicked: the panic goes on in the calling thread once the
    /// pool has stopped (rather than leave it waiting for a result).
    Panicked(Option<Box<dyn Any + Send>>),
}

struct Board<T, E> {
    slots: Vec<Slot<T, E>>,
    /// Every job below this one has started.
    first_waiting: usize,
    running: usize,
    stop: bool,
}

impl<T, E> Board<T, E> {
    /// The lowest job that may start now: waiting, its prerequisites done.
    fn next(&self, after: &[Vec<usize>]) -> Option<usize> {
        (self.first_waiting..self.slots.len()).find(|&i| {
            matches!(self.slots[i], Slot::Waiting)
                && after[i]
                    .iter()
                    .all(|&before| matches!(self.slots.get(before), Some(Slot::Done(_))))
        })
    }

    fn all_started(&self) -> bool {
        self.first_waiting == self.slots.len()
    }
}

/// Runs `work(0..count)` on at most `jobs` threads; see the module text.
/// `after[i]` lists jobs that must succeed before job `i` starts, below or
/// above `i`. On failure returns the lowest failing index and its error;
/// the values of the jobs that succeeded are dropped.
pub(crate) fn run<T, E, W, D>(
    count: usize,
    jobs: NonZeroUsize,
    after: &[Vec<usize>],
    work: W,
    mut done: D,
) -> Result<Vec<T>, Stopped<E>>
where
    T: Send,
    E: Send,
    W: Fn(usize) -> Result<T, E> + Sync,
    D: FnMut(usize, &T),
{
    assert_eq!(after.len(), count, "one list of prerequisites per job");
    let threads = jobs.get().min(count);
    if threads <= 1 && after.iter().all(Vec::is_empty) {
        let mut values = Vec::with_capacity(count);
        for index in 0..count {
            let value = work(index).map_err(|error| Stopped::Failed(index, error))?;
            done(index, &value);
            values.push(value);
        }
        return Ok(values);
    }
    let board = Mutex::new(Board {
        slots: (0..count).map(|_| Slot::Waiting).collect(),
        first_waiting: 0,
        running: 0,
        stop: false,
    });
    let changed = Condvar::new();
    let lock = || board.lock().unwrap_or_else(PoisonError::into_inner);
    fn wait<'a, T, E>(
        changed: &Condvar,
        guard: MutexGuard<'a, Board<T, E>>,
    ) -> MutexGuard<'a, Board<T, E>> {
        changed.wait(guard).unwrap_or_else(PoisonError::into_inner)
    }
    let worker = || {
        let mut board = lock();
        loop {
            if board.stop || board.all_started() {
                return;
            }
            let Some(index) = board.next(after) else {
                if board.running == 0 {
                    // Nothing runs and nothing can start: a cycle of
                    // prerequisites (or one that does not exist).
                    board.stop = true;
                    changed.notify_all();
                    return;
                }
                board = wait(&changed, board);
                continue;
            };
            board.slots[index] = Slot::Running;
            board.running += 1;
            while board.first_waiting < count
                && !matches!(board.slots[board.first_waiting], Slot::Waiting)
            {
                board.first_waiting += 1;
            }
            drop(board);
            let result = panic::catch_unwind(AssertUnwindSafe(|| work(index)));
            board = lock();
            board.running -= 1;
            board.slots[index] = match result {
                Ok(Ok(value)) => Slot::Done(Some(value)),
                Ok(Err(error)) => {
                    board.stop = true;
                    Slot::Failed(error)
                }
                Err(payload) => {
                    board.stop = true;
                    Slot::Panicked(Some(payload))
                }
            };
            changed.notify_all();
        }
    };
    let mut values = Vec::with_capacity(count);
    thread::scope(|scope| {
        let spawned = (0..threads)
            .filter(|_| {
                thread::Builder::new()
                    .stack_size(STACK)
                    .spawn_scoped(scope, worker)
                    .is_ok()
            })
            .count();
        if spawned == 0 {
            // No thread could be made: the calling thread does the work,
            // then hands out the results as below.
            worker();
        }
        // The calling thread hands out the results in order.
        let mut board = lock();
        while values.len() < count {
            let index = values.len();
            let stopped = board.stop && board.running == 0;
            match &mut board.slots[index] {
                Slot::Done(value) => {
                    let value = value.take().expect("each value is taken once");
                    drop(board);
                    done(index, &value);
                    values.push(value);
                    board = lock();
                }
                Slot::Failed(_) | Slot::Panicked(_) => break,
                _ if stopped => break,
                _ => board = wait(&changed, board),
            }
        }
    });
    if values.len() == count {
        return Ok(values);
    }
    let mut board = board.into_inner().unwrap_or_else(PoisonError::into_inner);
    for slot in &mut board.slots {
        if let Slot::Panicked(payload) = slot {
            if let Some(payload) = payload.take() {
                panic::resume_unwind(payload);
            }
        }
    }
    let failure = board
        .slots
        .into_iter()
        .enumerate()
        .find_map(|(index, slot)| match slot {
            Slot::Failed(error) => Some(Stopped::Failed(index, error)),
            _ => None,
        });
    Err(failure.unwrap_or(Stopped::Stuck(values.len())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn jobs(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap()
    }

    fn none(count: usize) -> Vec<Vec<usize>> {
        vec![Vec::new(); count]
    }

    #[test]
    fn results_and_reports_come_in_index_order_whatever_finishes_first() {
        let mut reported = Vec::new();
        // The first jobs take longest: they finish last.
        let values = run(
            8,
            jobs(4),
            &none(8),
            |i| {
                thread::sleep(Duration::from_millis(5 * (8 - i as u64)));
                Ok::<_, ()>(i * 10)
            },
            |i, value| reported.push((i, *value)),
        )
        .unwrap();
        assert_eq!(values, (0..8).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(reported, (0..8).map(|i| (i, i * 10)).collect::<Vec<_>>());
    }

    #[test]
    fn jobs_run_at_once_up_to_the_limit() {
        let (active, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let work = |_| {
            let now = active.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(30));
            active.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, ()>(())
        };
        run(6, jobs(3), &none(6), work, |_, _| {}).unwrap();
        assert_eq!(most.load(Ordering::SeqCst), 3);
        most.store(0, Ordering::SeqCst);
        run(6, jobs(1), &none(6), work, |_, _| {}).unwrap();
        assert_eq!(most.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn one_job_runs_on_the_calling_thread_interleaved_with_its_reports() {
        let caller = thread::current().id();
        let trace = Mutex::new(Vec::new());
        run(
            3,
            jobs(1),
            &none(3),
            |i| {
                assert_eq!(thread::current().id(), caller);
                trace.lock().unwrap().push(format!("work {i}"));
                Ok::<_, ()>(i)
            },
            |i, _| trace.lock().unwrap().push(format!("done {i}")),
        )
        .unwrap();
        assert_eq!(
            trace.into_inner().unwrap(),
            ["work 0", "done 0", "work 1", "done 1", "work 2", "done 2"]
        );
    }

    #[test]
    fn the_lowest_failure_wins_and_nothing_after_it_is_reported() {
        for threads in [1, 2, 4, 8] {
            let started = AtomicUsize::new(0);
            let mut reported = Vec::new();
            let result = run(
                40,
                jobs(threads),
                &none(40),
                |i| {
                    started.fetch_add(1, Ordering::SeqCst);
                    // 9 fails late, 12 early: a serial run meets 9 first.
                    match i {
                        9 => {
                            thread::sleep(Duration::from_millis(40));
                            Err(format!("job {i}"))
                        }
                        12 => Err(format!("job {i}")),
                        _ => Ok(i),
                    }
                },
                |i, _| reported.push(i),
            );
            assert_eq!(
                result,
                Err(Stopped::Failed(9, "job 9".to_string())),
                "{threads} jobs"
            );
            assert_eq!(reported, (0..9).collect::<Vec<_>>(), "{threads} jobs");
            // The failure stopped the rest: at most the jobs under way
            // when it came were started after it.
            let started = started.load(Ordering::SeqCst);
            assert!(started <= 13 + threads, "{threads} jobs: {started} started");
        }
    }

    #[test]
    fn a_job_starts_after_its_prerequisites_and_is_still_reported_in_order() {
        let order = Mutex::new(Vec::new());
        let mut after = none(5);
        after[0] = vec![3];
        after[1] = vec![0, 4];
        let mut reported = Vec::new();
        for threads in [1, 3] {
            order.lock().unwrap().clear();
            reported.clear();
            run(
                5,
                jobs(threads),
                &after,
                |i| {
                    order.lock().unwrap().push(i);
                    Ok::<_, ()>(i)
                },
                |i, _| reported.push(i),
            )
            .unwrap();
            let order = order.lock().unwrap().clone();
            let at = |job| order.iter().position(|&j| j == job).unwrap();
            assert!(at(3) < at(0) && at(0) < at(1) && at(4) < at(1), "{order:?}");
            assert_eq!(reported, [0, 1, 2, 3, 4]);
        }
    }

    #[test]
    fn a_panicking_job_panics_the_caller_instead_of_hanging_it() {
        let caught = panic::catch_unwind(|| {
            run(
                6,
                jobs(3),
                &none(6),
                |i| {
                    assert_ne!(i, 2, "job 2 panics");
                    Ok::<_, ()>(i)
                },
                |_, _| {},
            )
        });
        let payload = caught.expect_err("the panic reached the caller");
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
        assert!(message.contains("job 2 panics"), "{message}");
    }

    #[test]
    fn a_cycle_or_a_missing_prerequisite_is_stuck_not_a_hang() {
        let mut after = none(4);
        after[1] = vec![2];
        after[2] = vec![1];
        let result = run(4, jobs(2), &after, Ok::<_, ()>, |_, _| {});
        assert_eq!(result, Err(Stopped::Stuck(1)));
        let mut after = none(2);
        after[0] = vec![7];
        let result = run(2, jobs(1), &after, Ok::<_, ()>, |_, _| {});
        assert_eq!(result, Err(Stopped::Stuck(0)));
    }
}
