// SPDX-License-Identifier: GPL-2.0

//! Property tests: random operation sequences on the FIFO and on a
//! `VecDeque` model must agree on every result.

use crate::fifo::{
    capacity_from_user, is_readable, is_writable, Fifo, ReadStep, WriteStep, MAX_CAPACITY,
    MIN_CAPACITY,
};
use crate::ring::Ring;
use proptest::prelude::*;
use std::collections::VecDeque;

const ATOMIC: usize = 16;

#[derive(Debug, Clone)]
enum Op {
    /// Write these bytes, as `write(2)` would: obeying `write_step`.
    Write(Vec<u8>),
    /// Read up to this many bytes.
    Read(usize),
    /// Read, but the user buffer faults after this many bytes.
    ReadFault(usize, usize),
    /// Write, but the user buffer faults after this many bytes.
    WriteFault(Vec<u8>, usize),
    /// Resize to this capacity.
    Resize(usize),
    Clear,
    Open(bool, bool),
    Close(bool, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..48).prop_map(Op::Write),
        4 => (0usize..48).prop_map(Op::Read),
        1 => (1usize..48, 0usize..48).prop_map(|(n, f)| Op::ReadFault(n, f)),
        1 => (prop::collection::vec(any::<u8>(), 1..48), 0usize..48)
            .prop_map(|(d, f)| Op::WriteFault(d, f)),
        1 => (0usize..64).prop_map(Op::Resize),
        1 => Just(Op::Clear),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(r, w)| Op::Open(r, w)),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(r, w)| Op::Close(r, w)),
    ]
}

/// The model: what a pipe-like FIFO of `cap` bytes must do.
struct Model {
    data: VecDeque<u8>,
    cap: usize,
    readers: u32,
    writers: u32,
}

fn fill(data: &[u8]) -> impl FnMut(&mut [u8]) -> usize + '_ {
    let mut at = 0;
    move |run: &mut [u8]| {
        let n = run.len().min(data.len() - at);
        run[..n].copy_from_slice(&data[at..at + n]);
        at += n;
        n
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn fifo_matches_model(cap in 0usize..64, ops in prop::collection::vec(op(), 1..80)) {
        let mut fifo = Fifo::new(vec![0u8; cap], ATOMIC);
        let mut m = Model {
            data: VecDeque::new(), cap, readers: 0, writers: 0,
        };
        for op in ops {
            match op {
                Op::Write(d) => {
                    let free = m.cap - m.data.len();
                    let expect = if d.is_empty() {
                        Some(0)
                    } else if d.len() <= ATOMIC.min(m.cap) {
                        (free >= d.len()).then_some(d.len())
                    } else {
                        (free > 0).then(|| free.min(d.len()))
                    };
                    match (fifo.write_step(d.len()), expect) {
                        (WriteStep::Put(n), Some(e)) => {
                            prop_assert_eq!(n, e);
                            let stored = fifo.put(n, fill(&d));
                            prop_assert_eq!(stored, n);
                            m.data.extend(&d[..n]);
                        }
                        (WriteStep::Wait, None) => {}
                        (got, e) => prop_assert!(false, "write {:?} vs model {:?}", got, e),
                    }
                }
                Op::WriteFault(d, fault) => {
                    if let WriteStep::Put(n) = fifo.write_step(d.len()) {
                        let good = fault.min(n);
                        let stored = fifo.put(n, fill(&d[..good]));
                        // An atomic write that faults stores nothing; a large
                        // one keeps what arrived.
                        let expect = if good < n && n <= ATOMIC.min(m.cap) { 0 } else { good };
                        prop_assert_eq!(stored, expect);
                        m.data.extend(&d[..expect]);
                    }
                }
                Op::Read(count) | Op::ReadFault(count, _) => {
                    let fault = if let Op::ReadFault(_, f) = op { f } else { usize::MAX };
                    let step = fifo.read_step(count, m.writers > 0);
                    if count == 0 {
                        prop_assert_eq!(step, ReadStep::Take(0));
                    } else if !m.data.is_empty() {
                        let n = count.min(m.data.len());
                        prop_assert_eq!(&step, &ReadStep::Take(n));
                        let mut got = Vec::new();
                        let taken = fifo.take(n, |run| {
                            let k = run.len().min(fault - got.len().min(fault));
                            got.extend_from_slice(&run[..k]);
                            k
                        });
                        let expect = n.min(fault);
                        prop_assert_eq!(taken, expect);
                        let want: Vec<u8> = m.data.drain(..expect).collect();
                        prop_assert_eq!(got, want);
                    } else if m.writers == 0 {
                        prop_assert_eq!(step, ReadStep::Eof);
                    } else {
                        prop_assert_eq!(step, ReadStep::Wait);
                    }
                }
                Op::Resize(new_cap) => {
                    let res = fifo.resize(vec![0u8; new_cap]);
                    if new_cap >= m.data.len() {
                        prop_assert!(res.is_ok());
                        m.cap = new_cap;
                    } else {
                        prop_assert!(res.is_err());
                    }
                }
                Op::Clear => {
                    fifo.clear();
                    m.data.clear();
                }
                // Openers are counted outside the FIFO (device/openers.rs);
                // the model tracks them to feed `has_writer`.
                Op::Open(r, w) => {
                    m.readers += r as u32;
                    m.writers += w as u32;
                }
                Op::Close(r, w) => {
                    // Only close what is open, as the VFS guarantees.
                    if (!r || m.readers > 0) && (!w || m.writers > 0) {
                        m.readers -= r as u32;
                        m.writers -= w as u32;
                    }
                }
            }
            prop_assert_eq!(fifo.len(), m.data.len());
            prop_assert_eq!(fifo.capacity(), m.cap);
            prop_assert_eq!(is_readable(fifo.len(), m.writers > 0), !m.data.is_empty() || m.writers == 0);
            prop_assert_eq!(fifo.is_empty(), m.data.is_empty());
            // Writable exactly when a write of the atomic size (at most the
            // capacity, at least one byte) fits now, as a pipe's `POLLOUT`.
            let atomic = ATOMIC.min(m.cap).max(1);
            prop_assert_eq!(is_writable(fifo.len(), fifo.capacity(), ATOMIC), m.cap - m.data.len() >= atomic);
        }
    }

    #[test]
    fn ring_push_pop_matches_model(
        cap in 0usize..32,
        ops in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..40)), 1..60),
    ) {
        let mut ring = Ring::new(vec![0u8; cap]);
        let mut model = VecDeque::new();
        for (push, data) in ops {
            if push {
                let n = ring.push(&data);
                prop_assert_eq!(n, data.len().min(cap - model.len()));
                model.extend(&data[..n]);
            } else {
                let mut out = vec![0u8; data.len()];
                let n = ring.pop(&mut out);
                let want: Vec<u8> = model.drain(..n.min(model.len())).collect();
                prop_assert_eq!(&out[..n], &want[..]);
                prop_assert_eq!(n, want.len());
            }
            let (a, b) = ring.readable();
            let flat: Vec<u8> = a.iter().chain(b).copied().collect();
            prop_assert_eq!(flat, model.iter().copied().collect::<Vec<u8>>());
            let (wa, wb) = ring.writable();
            prop_assert_eq!(wa.len() + wb.len(), cap - model.len());
        }
    }

    #[test]
    fn capacity_bounds_hold(bytes in any::<u64>()) {
        let ok = (MIN_CAPACITY as u64..=MAX_CAPACITY as u64).contains(&bytes);
        prop_assert_eq!(capacity_from_user(bytes).is_some(), ok);
    }
}

#[test]
fn eof_needs_no_writer() {
    let fifo = Fifo::new(vec![0u8; 8], ATOMIC);
    assert_eq!(fifo.read_step(1, false), ReadStep::Eof);
    assert_eq!(fifo.read_step(1, true), ReadStep::Wait);
}
