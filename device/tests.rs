// SPDX-License-Identifier: GPL-2.0

//! KUnit suites, run when the module loads on a kernel with `CONFIG_KUNIT=y`.
//!
//! They cover the FIFO core with kernel storage (`KVVec`), the ioctl ABI and
//! the capacity checks the module parameter and `SET_CAPACITY` share. The
//! host suite (`tests/host`) runs the same core against a model with
//! property tests; these make sure it behaves the same inside the kernel.

use kernel::prelude::*;

#[kunit_tests(rust_sample_ring)]
mod ring {
    use crate::device::ring::{
        ResizeError,
        Ring, //
    };
    use kernel::prelude::*;

    fn ring(capacity: usize) -> Result<Ring<KVVec<u8>>> {
        Ok(Ring::new(KVVec::from_elem(0u8, capacity, GFP_KERNEL)?))
    }

    #[test]
    fn push_then_pop_keeps_order() -> Result {
        let mut r = ring(8)?;
        assert_eq!(r.push(b"hello"), 5);
        let mut out = [0u8; 8];
        assert_eq!(r.pop(&mut out), 5);
        assert_eq!(&out[..5], b"hello");
        assert!(r.is_empty());
        Ok(())
    }

    #[test]
    fn push_stops_when_full() -> Result {
        let mut r = ring(4)?;
        assert_eq!(r.push(b"abcdef"), 4);
        assert_eq!(r.free(), 0);
        assert_eq!(r.free(), 0);
        assert_eq!(r.push(b"x"), 0);
        Ok(())
    }

    #[test]
    fn wraps_around_the_end() -> Result {
        let mut r = ring(4)?;
        let mut out = [0u8; 4];
        assert_eq!(r.push(b"abc"), 3);
        assert_eq!(r.pop(&mut out[..2]), 2);
        assert_eq!(r.push(b"def"), 3);
        assert_eq!(r.len(), 4);
        let (a, b) = r.readable();
        assert_eq!(a, b"cd");
        assert_eq!(b, b"ef");
        assert_eq!(r.pop(&mut out), 4);
        assert_eq!(&out, b"cdef");
        Ok(())
    }

    #[test]
    fn writable_splits_at_the_end() -> Result {
        let mut r = ring(4)?;
        let mut out = [0u8; 3];
        r.push(b"abc");
        r.pop(&mut out);
        // Empty again: the head rewinds, so the free space is one run.
        let (a, b) = r.writable();
        assert_eq!((a.len(), b.len()), (4, 0));
        r.push(b"ab");
        r.pop(&mut out[..1]);
        let (a, b) = r.writable();
        assert_eq!((a.len(), b.len()), (2, 1));
        Ok(())
    }

    #[test]
    fn commits_are_clamped() -> Result {
        let mut r = ring(4)?;
        r.commit_push(10);
        assert_eq!(r.len(), 4);
        r.commit_pop(10);
        assert_eq!(r.len(), 0);
        Ok(())
    }

    #[test]
    fn clear_empties() -> Result {
        let mut r = ring(4)?;
        r.push(b"abc");
        r.clear();
        assert!(r.is_empty());
        assert_eq!(r.free(), 4);
        Ok(())
    }

    #[test]
    fn resize_keeps_contents_in_order() -> Result {
        let mut r = ring(4)?;
        let mut out = [0u8; 8];
        r.push(b"abc");
        r.pop(&mut out[..2]);
        r.push(b"def");
        let old = r.resize(KVVec::from_elem(0u8, 8, GFP_KERNEL)?);
        assert!(old.is_ok());
        assert_eq!(r.capacity(), 8);
        assert_eq!(r.push(b"gh"), 2);
        assert_eq!(r.pop(&mut out), 6);
        assert_eq!(&out[..6], b"cdefgh");
        Ok(())
    }

    #[test]
    fn resize_refuses_too_small_and_changes_nothing() -> Result {
        let mut r = ring(8)?;
        r.push(b"abcdef");
        let res = r.resize(KVVec::from_elem(0u8, 4, GFP_KERNEL)?);
        assert!(matches!(res, Err((ResizeError::TooSmall, _))));
        assert_eq!(r.capacity(), 8);
        let mut out = [0u8; 8];
        assert_eq!(r.pop(&mut out), 6);
        assert_eq!(&out[..6], b"abcdef");
        Ok(())
    }

    #[test]
    fn zero_capacity_is_harmless() -> Result {
        let mut r = ring(0)?;
        assert!(r.is_empty() && r.free() == 0);
        assert_eq!(r.push(b"a"), 0);
        assert_eq!(r.pop(&mut [0u8; 1]), 0);
        Ok(())
    }
}

#[kunit_tests(rust_sample_fifo)]
mod fifo {
    use crate::device::{
        fifo::{
            is_readable,
            is_writable,
            Fifo,
            ReadStep,
            WriteStep, //
        },
        gauges::Gauges,
    };
    use kernel::prelude::*;

    const ATOMIC: usize = 4;

    fn fifo(capacity: usize) -> Result<Fifo<KVVec<u8>>> {
        Ok(Fifo::new(
            KVVec::from_elem(0u8, capacity, GFP_KERNEL)?,
            ATOMIC,
        ))
    }

    fn put(f: &mut Fifo<KVVec<u8>>, data: &[u8]) -> usize {
        let mut at = 0;
        f.put(data.len(), |run| {
            run.copy_from_slice(&data[at..at + run.len()]);
            at += run.len();
            run.len()
        })
    }

    #[test]
    fn empty_with_writer_waits() -> Result {
        let f = fifo(16)?;
        assert_eq!(f.read_step(4, true), ReadStep::Wait);
        Ok(())
    }

    #[test]
    fn empty_without_writer_is_eof() -> Result {
        let f = fifo(16)?;
        assert_eq!(f.read_step(4, false), ReadStep::Eof);
        Ok(())
    }

    #[test]
    fn data_is_read_before_eof() -> Result {
        let mut f = fifo(16)?;
        put(&mut f, b"ab");
        assert_eq!(f.read_step(4, false), ReadStep::Take(2));
        Ok(())
    }

    #[test]
    fn zero_length_calls_do_nothing() -> Result {
        let f = fifo(16)?;
        assert_eq!(f.read_step(0, true), ReadStep::Take(0));
        assert_eq!(f.write_step(0), WriteStep::Put(0));
        Ok(())
    }

    #[test]
    fn read_takes_at_most_what_is_there() -> Result {
        let mut f = fifo(16)?;
        put(&mut f, b"abc");
        assert_eq!(f.read_step(10, true), ReadStep::Take(3));
        assert_eq!(f.read_step(2, true), ReadStep::Take(2));
        Ok(())
    }

    #[test]
    fn atomic_write_waits_for_room_for_all() -> Result {
        let mut f = fifo(8)?;
        put(&mut f, b"abcdef");
        assert_eq!(f.write_step(3), WriteStep::Wait);
        assert_eq!(f.write_step(2), WriteStep::Put(2));
        Ok(())
    }

    #[test]
    fn large_write_stores_what_fits() -> Result {
        let mut f = fifo(8)?;
        put(&mut f, b"abcdef");
        assert_eq!(f.write_step(ATOMIC + 1), WriteStep::Put(2));
        put(&mut f, b"gh");
        assert_eq!(f.write_step(ATOMIC + 1), WriteStep::Wait);
        Ok(())
    }

    #[test]
    fn short_atomic_copy_stores_nothing() -> Result {
        let mut f = fifo(8)?;
        // The copy faults after one byte of a three-byte atomic write.
        assert_eq!(f.put(3, |_run| 1), 0);
        assert_eq!(f.len(), 0);
        Ok(())
    }

    #[test]
    fn short_large_copy_keeps_what_arrived() -> Result {
        let mut f = fifo(8)?;
        assert_eq!(f.put(ATOMIC + 2, |_run| 2), 2);
        assert_eq!(f.len(), 2);
        Ok(())
    }

    #[test]
    fn take_stops_at_a_fault() -> Result {
        let mut f = fifo(8)?;
        put(&mut f, b"abcd");
        assert_eq!(f.take(4, |_run| 1), 1);
        assert_eq!(f.len(), 3);
        Ok(())
    }

    #[test]
    fn take_crosses_the_wrap() -> Result {
        let mut f = fifo(4)?;
        put(&mut f, b"abc");
        f.take(2, |run| run.len());
        put(&mut f, b"de");
        let mut got = KVec::new();
        let n = f.take(3, |run| {
            for &b in run {
                let _ = got.push(b, GFP_KERNEL);
            }
            run.len()
        });
        assert_eq!(n, 3);
        assert_eq!(&got[..], b"cde");
        Ok(())
    }

    #[test]
    fn gauges_follow_the_fifo() -> Result {
        let mut f = fifo(16)?;
        let g = Gauges::new(16);
        let n = put(&mut f, b"abc");
        g.put(&f, n);
        let n = put(&mut f, b"de");
        g.put(&f, n);
        let n = f.take(4, |run| run.len());
        g.took(&f, n);
        // A faulted copy moves nothing and counts nothing.
        g.took(&f, 0);
        let c = g.counters();
        assert_eq!((c.bytes_written, c.writes), (5, 2));
        assert_eq!((c.bytes_read, c.reads), (4, 1));
        assert_eq!((g.len(), g.capacity()), (1, 16));
        f.clear();
        g.reset(&f);
        assert_eq!(g.len(), 0);
        Ok(())
    }

    #[test]
    fn readiness_follows_the_state() -> Result {
        let mut f = fifo(4)?;
        assert!(!is_readable(f.len(), true) && is_writable(f.len(), f.capacity(), ATOMIC));
        put(&mut f, b"abcd");
        assert!(is_readable(f.len(), true) && !is_writable(f.len(), f.capacity(), ATOMIC));
        f.take(4, |run| run.len());
        // Empty without writers: readable, because a read returns EOF.
        assert!(is_readable(f.len(), false) && f.is_empty());
        Ok(())
    }

    /// Writable only when a write of the atomic size fits, so that a writer
    /// woken by `poll` is never refused (rs-devtest's
    /// `poll-readiness-transitions` checks it through the device).
    #[test]
    fn writable_only_when_an_atomic_write_fits() -> Result {
        let mut f = fifo(8)?;
        put(&mut f, b"abcde");
        // 3 free, ATOMIC is 4: a 4-byte write would wait.
        assert_eq!(f.write_step(ATOMIC), WriteStep::Wait);
        assert!(!is_writable(f.len(), f.capacity(), ATOMIC));
        f.take(1, |run| run.len());
        assert_eq!(f.write_step(ATOMIC), WriteStep::Put(ATOMIC));
        assert!(is_writable(f.len(), f.capacity(), ATOMIC));
        // Read without the lock, the length may be from before a shrinking
        // resize: no overflow, and not writable.
        assert!(!is_writable(9, 8, ATOMIC));
        Ok(())
    }

    /// A FIFO smaller than the atomic size takes a write of its whole
    /// capacity at once, and a larger one in parts, instead of waiting for
    /// room that can never exist.
    #[test]
    fn atomic_size_never_exceeds_the_capacity() -> Result {
        let f = fifo(2)?;
        assert_eq!(f.write_step(3), WriteStep::Put(2));
        assert!(is_writable(f.len(), f.capacity(), ATOMIC));
        Ok(())
    }

    #[test]
    fn clear_frees_the_space() -> Result {
        let mut f = fifo(4)?;
        put(&mut f, b"abcd");
        f.clear();
        assert_eq!(f.len(), 0);
        assert!(is_writable(f.len(), f.capacity(), ATOMIC));
        Ok(())
    }

    #[test]
    fn resize_through_the_fifo() -> Result {
        let mut f = fifo(4)?;
        put(&mut f, b"abc");
        assert!(f.resize(KVVec::from_elem(0u8, 2, GFP_KERNEL)?).is_err());
        assert!(f.resize(KVVec::from_elem(0u8, 16, GFP_KERNEL)?).is_ok());
        assert_eq!((f.len(), f.capacity()), (3, 16));
        Ok(())
    }
}

#[kunit_tests(rust_sample_openers)]
mod openers {
    use crate::device::openers::{
        Access,
        Openers, //
    };

    const R: Access = Access {
        read: true,
        write: false,
    };
    const W: Access = Access {
        read: false,
        write: true,
    };
    const RW: Access = Access {
        read: true,
        write: true,
    };

    #[test]
    fn openers_are_counted_by_access() {
        let o = Openers::new();
        o.open(R);
        o.open(W);
        o.open(RW);
        assert_eq!((o.readers(), o.writers()), (2, 2));
        assert!(o.has_writer());
        assert!(!o.close(RW));
        assert_eq!((o.readers(), o.writers()), (1, 1));
        // The last writer's close, and only that one, says so: it is the
        // one that must wake readers for end of file.
        assert!(o.close(W));
        assert!(!o.has_writer());
        assert!(!o.close(R));
        assert_eq!((o.readers(), o.writers()), (0, 0));
    }

    #[test]
    fn only_the_last_writer_is_last() {
        let o = Openers::new();
        o.open(W);
        o.open(W);
        assert!(!o.close(W));
        assert!(o.close(W));
    }
}

#[kunit_tests(rust_sample_abi)]
mod abi {
    use crate::device::{
        fifo::{
            capacity_from_user,
            DEFAULT_CAPACITY,
            MAX_CAPACITY,
            MIN_CAPACITY, //
        },
        file::StatsText,
        instances::{
            device_count_from_user,
            device_name,
            MAX_DEVICES, //
        },
        uapi, //
    };
    use kernel::{
        ioctl::{
            _IOC_DIR,
            _IOC_NR,
            _IOC_SIZE,
            _IOC_TYPE, //
        },
        prelude::*,
    };

    #[test]
    fn ioctl_numbers_match_the_c_header() {
        // The values `_IOR(0xB9, 1, struct rust_sample_stats)` and friends
        // have in C, written out so a change on either side is caught.
        assert_eq!(uapi::IOC_GET_STATS, 0x8038_b901);
        assert_eq!(uapi::IOC_GET_CAPACITY, 0x8008_b902);
        assert_eq!(uapi::IOC_SET_CAPACITY, 0x4008_b903);
        assert_eq!(uapi::IOC_CLEAR, 0x0000_b904);
    }

    #[test]
    fn ioctl_numbers_decode() {
        assert_eq!(_IOC_TYPE(uapi::IOC_GET_STATS), uapi::IOC_MAGIC);
        assert_eq!(_IOC_NR(uapi::IOC_SET_CAPACITY), 3);
        assert_eq!(_IOC_SIZE(uapi::IOC_GET_STATS), 56);
        assert_eq!(_IOC_DIR(uapi::IOC_CLEAR), 0);
    }

    #[test]
    fn stats_struct_has_no_padding() {
        assert_eq!(core::mem::size_of::<uapi::Stats>(), 56);
        assert_eq!(core::mem::align_of::<uapi::Stats>(), 8);
    }

    #[test]
    fn capacity_bounds() {
        assert_eq!(capacity_from_user(0), None);
        assert_eq!(capacity_from_user(MIN_CAPACITY as u64 - 1), None);
        assert_eq!(capacity_from_user(MIN_CAPACITY as u64), Some(MIN_CAPACITY));
        assert_eq!(capacity_from_user(MAX_CAPACITY as u64), Some(MAX_CAPACITY));
        assert_eq!(capacity_from_user(MAX_CAPACITY as u64 + 1), None);
        assert_eq!(capacity_from_user(u64::MAX), None);
    }

    #[test]
    fn default_capacity_is_valid() {
        assert_eq!(capacity_from_user(DEFAULT_CAPACITY as u64), Some(65536));
    }

    #[test]
    fn device_count_bounds() {
        assert_eq!(device_count_from_user(0), None);
        assert_eq!(device_count_from_user(1), Some(1));
        assert_eq!(device_count_from_user(16), Some(MAX_DEVICES));
        assert_eq!(device_count_from_user(17), None);
        assert_eq!(device_count_from_user(u32::MAX), None);
    }

    #[test]
    fn device_names_are_numbered_from_one() {
        // The first device keeps the single-device name; `rust_sampleN`
        // is device N, for every N the parameter allows, and no more.
        assert_eq!(device_name(0), Some(c"rust_sample"));
        for n in 1..MAX_DEVICES {
            let name = device_name(n).map(|c| c.to_bytes());
            let digits = name.and_then(|b| b.strip_prefix(b"rust_sample"));
            let parsed = digits
                .and_then(|d| core::str::from_utf8(d).ok())
                .and_then(|d| d.parse::<usize>().ok());
            assert_eq!(parsed, Some(n));
        }
        assert_eq!(device_name(MAX_DEVICES), None);
    }

    #[test]
    fn stats_text_names_every_field() -> Result {
        struct Buf(KVec<u8>);
        impl core::fmt::Write for Buf {
            fn write_str(&mut self, s: &str) -> core::fmt::Result {
                self.0
                    .extend_from_slice(s.as_bytes(), GFP_KERNEL)
                    .map_err(|_| core::fmt::Error)
            }
        }
        let stats = uapi::Stats {
            bytes_read: 1,
            bytes_written: 2,
            reads: 3,
            writes: 4,
            len: 5,
            capacity: 6,
            readers: 7,
            writers: 8,
        };
        let mut buf = Buf(KVec::new());
        assert!(core::fmt::Write::write_fmt(&mut buf, fmt!("{}", StatsText(stats))).is_ok());
        let text = core::str::from_utf8(&buf.0).map_err(|_| EINVAL)?;
        for line in [
            "bytes_read:\t1\n",
            "bytes_written:\t2\n",
            "reads:\t3\n",
            "writes:\t4\n",
            "len:\t5\n",
            "capacity:\t6\n",
            "readers:\t7\n",
            "writers:\t8\n",
        ] {
            assert!(text.contains(line));
        }
        Ok(())
    }
}
