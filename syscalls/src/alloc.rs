//! [`Pool`], the memory allocator of the `rxdp` and `rxdp-load` programs.
//!
//! Why not the C library's: musl's malloc (the static binaries link musl)
//! gives freed pages back to the kernel at once and maps each new group of
//! small blocks with an `mmap` of its own. A load makes a few hundred small
//! allocations, most of them short-lived, so a seed object cost 30 to 50
//! `mmap`/`munmap`/`brk` calls, and `munmap` is not cheap: it splits the
//! mapping and flushes the TLB. Those calls were a third of rxdp's time
//! outside the kernel's own work (`make bench`, "Syscalls per job").
//!
//! The pool keeps what is freed for the next allocation of its size instead:
//! - blocks of 16 bytes to 64 KiB, in power-of-two size classes, each class
//!   with a list of free blocks threaded through the blocks themselves;
//! - new blocks cut from 1 MiB regions mapped on demand (the kernel only
//!   backs the pages that are touched, so an unused region costs nothing);
//! - larger blocks, and alignments beyond a page, go to the C library's
//!   allocator, whose own `mmap` per block is right for them.
//!
//! Memory is never returned to the kernel before the process exits; a
//! program that allocates the same sizes over and over (`rxdp trace`) reuses
//! its blocks, so it does not grow.
//!
//! Only the two programs install it (`#[global_allocator]` in
//! `cli/src/bin/`): the library does not, so a program embedding rxdp keeps
//! its own allocator, and the tests run on the system's.
//!
//! One spin lock guards the pool. rxdp's programs are single-threaded, but
//! the allocator must stay correct with threads (a test runs eight at once
//! against one pool); waiting for the lock backs off, then yields.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::num::NonZeroUsize;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};

/// The smallest block: 16 bytes, room for the free-list link and the
/// alignment of any `u128`.
const MIN_SHIFT: u32 = 4;
/// The largest block kept in the pool: 64 KiB.
const MAX_SHIFT: u32 = 16;
const CLASSES: usize = (MAX_SHIFT - MIN_SHIFT + 1) as usize;
/// How much address space is mapped at a time for new blocks.
const REGION: NonZeroUsize = NonZeroUsize::new(1 << 20).unwrap();
/// Blocks are cut at offsets aligned to their size, up to a page.
const PAGE: usize = 4096;

/// A size-class allocator for short-lived programs; see the module text.
pub struct Pool {
    busy: AtomicBool,
    state: UnsafeCell<State>,
}

struct State {
    /// The first free block of each class; each free block holds the address
    /// of the next one in its first word.
    free: [*mut u8; CLASSES],
    /// The uncut rest of the current region: `[next, end)`.
    next: usize,
    end: usize,
}

// SAFETY: `state` is only reached between `lock` and `unlock`, which the
// `busy` flag makes exclusive across threads.
unsafe impl Sync for Pool {}

impl Pool {
    /// An empty pool: nothing is mapped until the first allocation.
    pub const fn new() -> Pool {
        Pool {
            busy: AtomicBool::new(false),
            state: UnsafeCell::new(State {
                free: [ptr::null_mut(); CLASSES],
                next: 0,
                end: 0,
            }),
        }
    }

    /// Runs `f` on the state with the lock held. The critical sections are
    /// a few instructions (or one `mmap`), so spinning is cheaper than a
    /// futex. A waiter reads the flag until it looks free before trying to
    /// take it again (no cache-line ping-pong between waiters), pausing
    /// longer each time, and yields its CPU once spinning has lasted long:
    /// on a machine with few cores the holder may be the thread it would
    /// otherwise keep waiting for.
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut backoff = Backoff::default();
        while self
            .busy
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            while self.busy.load(Ordering::Relaxed) {
                backoff.pause();
            }
        }
        // SAFETY: the flag was false and is now ours: no other thread is
        // inside `with`, and `f` cannot re-enter it (it does not allocate).
        let result = f(unsafe { &mut *self.state.get() });
        self.busy.store(false, Ordering::Release);
        result
    }
}

/// Exponential backoff for a spin lock: 1, 2, 4, ... spin-loop hints, then
/// `sched_yield` (which neither allocates nor takes a lock).
#[derive(Debug, Default)]
struct Backoff {
    step: u32,
}

impl Backoff {
    /// Past this step, waiting yields the CPU instead of spinning.
    const SPIN_STEPS: u32 = 6;

    fn pause(&mut self) {
        if self.step < Self::SPIN_STEPS {
            for _ in 0..1u32 << self.step {
                std::hint::spin_loop();
            }
            self.step += 1;
        } else {
            std::thread::yield_now();
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new()
    }
}

/// The size class of a layout, or `None` for the C library.
fn class(layout: Layout) -> Option<usize> {
    if layout.align() > PAGE {
        return None;
    }
    let size = layout.size().max(layout.align()).max(1 << MIN_SHIFT);
    if size > 1 << MAX_SHIFT {
        return None;
    }
    Some((size.next_power_of_two().trailing_zeros() - MIN_SHIFT) as usize)
}

fn class_size(class: usize) -> usize {
    1 << (class as u32 + MIN_SHIFT)
}

impl State {
    /// A block of `class`: a freed one if there is one, else a new one.
    fn take(&mut self, class: usize) -> *mut u8 {
        let head = self.free[class];
        if !head.is_null() {
            // SAFETY: `head` is a free block of this class, at least 16
            // bytes, 16-aligned, and `give` wrote the next link in it.
            self.free[class] = unsafe { head.cast::<*mut u8>().read() };
            return head;
        }
        let size = class_size(class);
        let align = size.min(PAGE);
        let mut start = self.next.next_multiple_of(align);
        if self.end == 0 || start + size > self.end {
            // SAFETY: an anonymous private mapping at an address the kernel
            // picks; no existing memory is affected.
            let region = unsafe {
                mmap_anonymous(
                    None,
                    REGION,
                    ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                    MapFlags::MAP_PRIVATE,
                )
            };
            let Ok(region) = region else {
                return ptr::null_mut();
            };
            // The rest of the old region stays unused: at most one block of
            // the largest class, and its pages were never touched.
            start = region.as_ptr() as usize;
            self.end = start + REGION.get();
        }
        self.next = start + size;
        start as *mut u8
    }

    /// Puts a block back on its class's list.
    fn give(&mut self, class: usize, block: *mut u8) {
        // SAFETY: the caller frees `block`, a block of this class that it
        // no longer uses; its first word is ours to hold the link.
        unsafe { block.cast::<*mut u8>().write(self.free[class]) };
        self.free[class] = block;
    }
}

// SAFETY: every block handed out is at least `layout.size()` bytes and
// aligned to `layout.align()` (classes are powers of two no smaller than
// the alignment, cut at offsets aligned to their size up to a page, and
// larger alignments go to `System`); a block is on a free list only after
// `dealloc`, so no block is handed out twice.
unsafe impl GlobalAlloc for Pool {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class(layout) {
            Some(class) => self.with(|state| state.take(class)),
            // SAFETY: the caller's contract for `layout` passes on.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        match class(layout) {
            Some(class) => self.with(|state| state.give(class, block)),
            // SAFETY: `block` came from `System.alloc` with this layout,
            // since `class` decides the same way for the same layout.
            None => unsafe { System.dealloc(block, layout) },
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size`, rounded up to the
        // alignment, does not overflow `isize`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(layout), class(new_layout)) {
            // The block is already big enough (or was: shrinking in place).
            (Some(old), Some(new)) if old == new => block,
            // SAFETY: `block` is the C library's, with this layout.
            (None, None) => unsafe { System.realloc(block, layout, new_size) },
            _ => {
                // SAFETY: `new_layout` has a non-zero size (a class of its
                // own differs from the old one, or it is larger than any).
                let moved = unsafe { self.alloc(new_layout) };
                if !moved.is_null() {
                    // SAFETY: both blocks are live, distinct, and at least
                    // the smaller of the two sizes long.
                    unsafe {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                }
                moved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_powers_of_two_no_smaller_than_alignment() {
        let at = |size, align| class(Layout::from_size_align(size, align).unwrap());
        assert_eq!(at(1, 1), Some(0));
        assert_eq!(at(16, 8), Some(0));
        assert_eq!(at(17, 1), Some(1));
        assert_eq!(at(8, 64), Some(2));
        assert_eq!(at(65536, 8), Some(CLASSES - 1));
        assert_eq!(at(65537, 8), None);
        assert_eq!(at(16, 8192), None);
    }

    #[test]
    fn blocks_are_aligned_distinct_reused_and_survive_realloc() {
        let pool = Pool::new();
        let mut live = Vec::new();
        for (size, align) in [
            (1, 1),
            (24, 8),
            (100, 64),
            (4096, 4096),
            (70000, 16),
            (3, 2),
        ] {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: non-zero sizes; each block is freed below with its layout.
            let block = unsafe { pool.alloc(layout) };
            assert!(!block.is_null());
            assert_eq!(block as usize % align, 0, "{size}/{align}");
            // SAFETY: the block is `size` bytes, ours.
            unsafe { ptr::write_bytes(block, size as u8, size) };
            live.push((block, layout));
        }
        for (i, &(a, la)) in live.iter().enumerate() {
            for &(b, lb) in &live[i + 1..] {
                let (a, b) = (a as usize, b as usize);
                assert!(a + la.size() <= b || b + lb.size() <= a, "blocks overlap");
            }
        }
        let (block, layout) = live.remove(1);
        // SAFETY: a live block of the pool with its layout; grown, then freed.
        unsafe {
            let grown = pool.realloc(block, layout, 1000);
            assert_eq!(*grown.add(23), 24, "the contents moved with it");
            pool.dealloc(grown, Layout::from_size_align(1000, 8).unwrap());
            let again = pool.alloc(Layout::from_size_align(1000, 8).unwrap());
            assert_eq!(again, grown, "a freed block is the next one of its class");
            pool.dealloc(again, Layout::from_size_align(1000, 8).unwrap());
        }
        for (block, layout) in live {
            // SAFETY: live blocks of the pool with their layouts.
            unsafe { pool.dealloc(block, layout) };
        }
    }

    /// Many threads allocating, growing and freeing blocks of every class
    /// at once, and freeing each other's: every block keeps the bytes its
    /// owner wrote until it is freed, so no block is handed out twice, none
    /// overlaps another, and nothing is lost under contention.
    #[test]
    fn threads_allocating_and_freeing_at_once_keep_their_contents() {
        use std::sync::Mutex;

        const THREADS: usize = 8;
        const ROUNDS: usize = 10_000;
        let pool = Pool::new();
        // Blocks handed from one thread to be checked and freed by another:
        // (address, layout, the byte it is filled with).
        let handed: Mutex<Vec<(usize, Layout, u8)>> = Mutex::new(Vec::new());
        let (pool, handed) = (&pool, &handed);

        let fill = |block: *mut u8, layout: Layout, byte: u8| {
            // SAFETY: `block` is a live block of the pool of `layout`'s size.
            unsafe { ptr::write_bytes(block, byte, layout.size()) };
        };
        let check = |block: usize, layout: Layout, byte: u8, len: usize| {
            // SAFETY: `block` is a live block of at least `len` bytes.
            let bytes = unsafe { std::slice::from_raw_parts(block as *const u8, len) };
            assert!(
                bytes.iter().all(|&b| b == byte),
                "a {}-byte block lost its contents",
                layout.size()
            );
        };
        std::thread::scope(|scope| {
            for thread in 0..THREADS {
                scope.spawn(move || {
                    // A small LCG per thread: sizes and choices repeat
                    // from run to run.
                    let mut seed = 0x9e37_79b9_u32.wrapping_mul(thread as u32 + 1);
                    let mut next = move || {
                        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        seed >> 8
                    };
                    let mut live: Vec<(usize, Layout, u8)> = Vec::new();
                    for round in 0..ROUNDS {
                        let byte = (thread * 31 + round) as u8 | 1;
                        match next() % 8 {
                            0..=3 => {
                                // Sizes across every class, and past the largest.
                                let size = 1 + (next() as usize % (1 << (next() % 18)));
                                let align = 1 << (next() % 7);
                                let layout = Layout::from_size_align(size, align).unwrap();
                                // SAFETY: a non-zero size.
                                let block = unsafe { pool.alloc(layout) };
                                assert!(!block.is_null());
                                assert_eq!(block as usize % align, 0);
                                fill(block, layout, byte);
                                live.push((block as usize, layout, byte));
                            }
                            4 if !live.is_empty() => {
                                let (block, layout, old) =
                                    live.swap_remove(next() as usize % live.len());
                                check(block, layout, old, layout.size());
                                let new_size = 1 + next() as usize % (layout.size() * 2 + 64);
                                // SAFETY: a live block with its layout, a non-zero size.
                                let grown =
                                    unsafe { pool.realloc(block as *mut u8, layout, new_size) };
                                assert!(!grown.is_null());
                                let new =
                                    Layout::from_size_align(new_size, layout.align()).unwrap();
                                check(grown as usize, new, old, layout.size().min(new_size));
                                fill(grown, new, byte);
                                live.push((grown as usize, new, byte));
                            }
                            5 if !live.is_empty() => {
                                let block = live.swap_remove(next() as usize % live.len());
                                handed.lock().unwrap().push(block);
                            }
                            _ => {
                                let theirs = handed.lock().unwrap().pop();
                                let mine = (!live.is_empty())
                                    .then(|| live.swap_remove(next() as usize % live.len()));
                                for (block, layout, byte) in theirs.into_iter().chain(mine) {
                                    check(block, layout, byte, layout.size());
                                    // SAFETY: a live block of the pool with its layout.
                                    unsafe { pool.dealloc(block as *mut u8, layout) };
                                }
                            }
                        }
                    }
                    for (block, layout, byte) in live {
                        check(block, layout, byte, layout.size());
                        // SAFETY: a live block of the pool with its layout.
                        unsafe { pool.dealloc(block as *mut u8, layout) };
                    }
                });
            }
        });
        for (block, layout, byte) in handed.lock().unwrap().drain(..) {
            check(block, layout, byte, layout.size());
            // SAFETY: a live block of the pool with its layout.
            unsafe { pool.dealloc(block as *mut u8, layout) };
        }
    }

    #[test]
    fn backoff_spins_longer_then_yields() {
        let mut backoff = Backoff::default();
        for step in 0..Backoff::SPIN_STEPS {
            assert_eq!(backoff.step, step);
            backoff.pause();
        }
        backoff.pause();
        assert_eq!(backoff.step, Backoff::SPIN_STEPS, "stays at yielding");
    }
}
