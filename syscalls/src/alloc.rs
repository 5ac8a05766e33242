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
//! - new blocks cut from one region of 256 KiB, mapped at the first
//!   allocation (the kernel only backs the pages that are touched);
//! - once the region is used up, a block with no free one of its class is
//!   cut from a free block of a larger class (halved down to its size);
//! - larger blocks, alignments beyond a page, and blocks the pool has no
//!   room for go to the C library's allocator. A block is the pool's when
//!   its address is in the region, the C library's otherwise.
//!
//! The pool's memory is never returned to the kernel before the process
//! exits, and a freed block serves only its own class: a load that made
//! blocks of every class by the thousand would keep them all (the
//! 1000-program object of `make bench`: parse temporaries and relocated
//! programs, 5.3 MiB with regions cut without end). The region is what a
//! seed object's whole load takes (about 100 KiB of blocks, start-up
//! included) with room to spare; beyond it the C library, which gives back
//! what is freed, bounds what a big object keeps. A program that
//! allocates the same sizes over and over (`rxdp trace`) reuses its
//! blocks, so it does not grow.
//!
//! Only the two programs install it (`#[global_allocator]` in
//! `cli/src/bin/`): the library does not, so a program embedding rxdp keeps
//! its own allocator, and the tests run on the system's.
//!
//! One spin lock guards the pool. rxdp's programs run at most a few
//! threads (the verifier pool of `--jobs`, one per CPU), and the allocator
//! must stay correct with them (a test runs eight at once against one
//! pool); waiting for the lock backs off, then yields.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::num::NonZeroUsize;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};

/// The smallest block: 16 bytes, room for the free-list link and the
/// alignment of any `u128`.
const MIN_SHIFT: u32 = 4;
/// The largest block kept in the pool: 64 KiB.
const MAX_SHIFT: u32 = 16;
const CLASSES: usize = (MAX_SHIFT - MIN_SHIFT + 1) as usize;
/// The address space new blocks are cut from, mapped once.
const REGION: NonZeroUsize = NonZeroUsize::new(256 << 10).unwrap();
/// Blocks are cut at offsets aligned to their size, up to a page.
const PAGE: usize = 4096;

/// A size-class allocator for short-lived programs; see the module text.
pub struct Pool {
    busy: AtomicBool,
    /// Where the region starts, 0 until it is mapped: set once, under
    /// the lock, and read without it to tell whose a block is.
    base: AtomicUsize,
    state: UnsafeCell<State>,
}

struct State {
    /// The first free block of each class; each free block holds the address
    /// of the next one in its first word.
    free: [*mut u8; CLASSES],
    /// The uncut rest of the region: `[next, end)`.
    next: usize,
    end: usize,
    /// Whether the region was asked for (mapped or refused): it is asked
    /// for once.
    mapped: bool,
}

// SAFETY: `state` is only reached between `lock` and `unlock`, which the
// `busy` flag makes exclusive across threads.
unsafe impl Sync for Pool {}

impl Pool {
    /// An empty pool: nothing is mapped until the first allocation.
    pub const fn new() -> Pool {
        Pool {
            busy: AtomicBool::new(false),
            base: AtomicUsize::new(0),
            state: UnsafeCell::new(State {
                free: [ptr::null_mut(); CLASSES],
                next: 0,
                end: 0,
                mapped: false,
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
    /// A block of `class`: a freed one if there is one, else a new one cut
    /// from the region (mapped on first use, its start stored in `base`),
    /// else one split from a larger free block; null when there is none.
    fn take(&mut self, class: usize, base: &AtomicUsize) -> *mut u8 {
        let head = self.free[class];
        if !head.is_null() {
            // SAFETY: `head` is a free block of this class, at least 16
            // bytes, 16-aligned, and `give` wrote the next link in it.
            self.free[class] = unsafe { head.cast::<*mut u8>().read() };
            return head;
        }
        if !self.mapped {
            self.mapped = true;
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
            if let Ok(region) = region {
                self.next = region.as_ptr() as usize;
                self.end = self.next + REGION.get();
                base.store(self.next, Ordering::Release);
            }
        }
        let size = class_size(class);
        let start = self.next.next_multiple_of(size.min(PAGE));
        if self.end == 0 || start + size > self.end {
            return self.split(class);
        }
        self.next = start + size;
        start as *mut u8
    }

    /// With the region used up: a block of `class` cut from a free block
    /// of a larger class, whose other halves go on their lists (a 64 KiB
    /// block gives 32, 16, ... down to two of `class`); null when none is
    /// free. A load that allocates and frees one size per program then
    /// reuses one block rather than asking the C library each time (whose
    /// `mmap` and `munmap` per program the pool is here to avoid).
    fn split(&mut self, class: usize) -> *mut u8 {
        let Some(larger) = (class + 1..CLASSES).find(|&c| !self.free[c].is_null()) else {
            return ptr::null_mut();
        };
        let block = self.free[larger];
        // SAFETY: a free block of class `larger`, holding the next link.
        self.free[larger] = unsafe { block.cast::<*mut u8>().read() };
        for half in (class..larger).rev() {
            // The upper half of the block of class `half + 1` that starts
            // at `block`: aligned as a block of `half` is (the block is
            // aligned to its size up to a page, and `half` is smaller).
            self.give(half, block.wrapping_add(class_size(half)));
        }
        block
    }

    /// Puts a block back on its class's list.
    fn give(&mut self, class: usize, block: *mut u8) {
        // SAFETY: the caller frees `block`, a block of this class that it
        // no longer uses; its first word is ours to hold the link.
        unsafe { block.cast::<*mut u8>().write(self.free[class]) };
        self.free[class] = block;
    }
}

impl Pool {
    /// Whether `block` was cut from the region (else the C library made it).
    fn owns(&self, block: *mut u8) -> bool {
        let base = self.base.load(Ordering::Acquire);
        let address = block as usize;
        base != 0 && address >= base && address < base + REGION.get()
    }

    /// A block of the pool for `layout`, or null when it has none.
    fn take(&self, layout: Layout) -> *mut u8 {
        match class(layout) {
            Some(class) => self.with(|state| state.take(class, &self.base)),
            None => ptr::null_mut(),
        }
    }
}

// SAFETY: every block handed out is at least `layout.size()` bytes and
// aligned to `layout.align()` (classes are powers of two no smaller than
// the alignment, cut at offsets aligned to their size up to a page; other
// layouts, and any once the region is full, go to `System`); a block is on
// a free list only after `dealloc`, so no block is handed out twice; and a
// block goes back to whoever made it, the region's addresses being the
// pool's alone.
unsafe impl GlobalAlloc for Pool {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let block = self.take(layout);
        if !block.is_null() {
            return block;
        }
        // SAFETY: the caller's contract for `layout` passes on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let block = self.take(layout);
        if block.is_null() {
            // SAFETY: the caller's contract for `layout` passes on. The C
            // library knows which of its pages are fresh and leaves them
            // untouched: a large zeroed buffer costs only the pages written.
            return unsafe { System.alloc_zeroed(layout) };
        }
        // SAFETY: the block is ours and at least `layout.size()` bytes; a
        // freed block holds what its last owner left.
        unsafe { ptr::write_bytes(block, 0, layout.size()) };
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        match class(layout) {
            Some(class) if self.owns(block) => self.with(|state| state.give(class, block)),
            // SAFETY: a block outside the region came from `System.alloc`
            // with this layout.
            _ => unsafe { System.dealloc(block, layout) },
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.owns(block) {
            // SAFETY: `block` is the C library's, with this layout; it stays
            // the C library's (its address is outside the region).
            return unsafe { System.realloc(block, layout, new_size) };
        }
        // SAFETY: the caller guarantees `new_size`, rounded up to the
        // alignment, does not overflow `isize`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if class(layout).is_some() && class(layout) == class(new_layout) {
            // The block is already big enough (or was: shrinking in place).
            return block;
        }
        // SAFETY: `new_layout` has a non-zero size (the caller's contract).
        let moved = unsafe { self.alloc(new_layout) };
        if !moved.is_null() {
            // SAFETY: both blocks are live, distinct, and at least the
            // smaller of the two sizes long; `block` is the pool's, with
            // this layout.
            unsafe {
                ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                self.dealloc(block, layout);
            }
        }
        moved
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

    /// Past the region, blocks come from the C library: they are freed and
    /// grown there, the pool's own blocks are still reused, and zeroed
    /// blocks are zero whoever made them.
    #[test]
    fn the_region_is_bounded_and_the_c_library_takes_over() {
        let pool = Pool::new();
        let layout = Layout::from_size_align(4096, 8).unwrap();
        let mut blocks = Vec::new();
        for _ in 0..REGION.get() / 4096 + 8 {
            // SAFETY: a non-zero size; freed below with its layout.
            let block = unsafe { pool.alloc(layout) };
            assert!(!block.is_null());
            // SAFETY: the block is 4096 bytes, ours.
            unsafe { ptr::write_bytes(block, 0xa5, 4096) };
            blocks.push(block);
        }
        let (ours, theirs): (Vec<*mut u8>, Vec<*mut u8>) =
            blocks.iter().partition(|&&b| pool.owns(b));
        assert_eq!(
            ours.len(),
            REGION.get() / 4096,
            "the region holds what it can"
        );
        assert_eq!(theirs.len(), 8, "the rest are the C library's");
        let (mine, other) = (ours[0], theirs[0]);
        // SAFETY: live blocks of `layout`; each is freed once, grown
        // blocks with their new layout.
        unsafe {
            pool.dealloc(mine, layout);
            let again = pool.alloc(layout);
            assert_eq!(again, mine, "the pool's freed block is reused");
            let grown = pool.realloc(other, layout, 10_000);
            assert!(!pool.owns(grown));
            assert_eq!(*grown.add(4095), 0xa5, "the contents moved with it");
            pool.dealloc(grown, Layout::from_size_align(10_000, 8).unwrap());
            let zeroed = pool.alloc_zeroed(layout);
            assert!(std::slice::from_raw_parts(zeroed, 4096)
                .iter()
                .all(|&b| b == 0));
            pool.dealloc(zeroed, layout);
            for &block in blocks.iter().filter(|&&b| b != other) {
                pool.dealloc(block, layout);
            }
            let zeroed = pool.alloc_zeroed(layout);
            assert!(pool.owns(zeroed), "a freed block of the pool");
            assert!(std::slice::from_raw_parts(zeroed, 4096)
                .iter()
                .all(|&b| b == 0));
            pool.dealloc(zeroed, layout);
        }
    }

    /// With the region used up, a block of a class with none free is cut
    /// from a larger free block: its halves serve the classes below it,
    /// without overlapping, and only then does the C library serve.
    #[test]
    fn with_the_region_used_up_larger_free_blocks_are_split() {
        let pool = Pool::new();
        let page = Layout::from_size_align(4096, 8).unwrap();
        let small = Layout::from_size_align(16, 8).unwrap();
        // SAFETY: non-zero sizes; every block is freed below with its layout.
        unsafe {
            let blocks: Vec<*mut u8> = (0..REGION.get() / 4096).map(|_| pool.alloc(page)).collect();
            assert!(blocks.iter().all(|&b| pool.owns(b)), "the region, full");
            let theirs = pool.alloc(small);
            assert!(!pool.owns(theirs), "nothing free: the C library's");
            let freed = blocks[3] as usize;
            pool.dealloc(blocks[3], page);
            let mut pieces = Vec::new();
            for size in [16, 16, 32, 64, 128, 256, 512, 1024, 2048] {
                let layout = Layout::from_size_align(size, 8).unwrap();
                let piece = pool.alloc(layout);
                let at = piece as usize;
                assert!(
                    at >= freed && at + size <= freed + 4096,
                    "{size}: from the freed block"
                );
                assert_eq!(at % size, 0, "{size}: aligned");
                ptr::write_bytes(piece, 0x5a, size);
                pieces.push((piece, layout));
            }
            pieces.sort_by_key(|(p, _)| *p as usize);
            for pair in pieces.windows(2) {
                assert!(
                    pair[0].0 as usize + pair[0].1.size() <= pair[1].0 as usize,
                    "no overlap"
                );
            }
            let more = pool.alloc(small);
            assert!(!pool.owns(more), "the freed block is used up");
            for (piece, layout) in pieces {
                pool.dealloc(piece, layout);
            }
            pool.dealloc(more, small);
            pool.dealloc(theirs, small);
            for (i, &block) in blocks.iter().enumerate() {
                if i != 3 {
                    pool.dealloc(block, page);
                }
            }
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
