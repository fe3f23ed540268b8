//! Time order: a streaming k-way merge of the records of every thread, across segments.
//!
//! The drain copies each thread's ring whole, so a thread's records reach the file in the order
//! they were logged, but the records of different threads interleave by drain pass, not by time.
//! [`Merge`] keeps one queue per thread (per writer process and producer) and always emits the
//! earliest queue head, so a thread's own records never change order.
//!
//! **Bound.** At most `window` records are held. When one more arrives, the earliest head goes
//! out. Memory is therefore `window` records plus the segments they point into, whatever the
//! size of the input. A record is emitted in its exact place as long as no record later than it
//! in time arrived more than `window` records before it in the input. A record that arrives after
//! something later than it has already been emitted still comes out, right away, marked
//! [`Ordered::late`].
//!
//! **Ties** (equal timestamps) go to the lower writer process id, then the lower producer id,
//! then the lower per-thread sequence number: the same input always gives the same output.
//! Drop notices are merged by their time too; they sort after records of the same instant.
use super::{Event, ReadError};
use std::cmp::Reverse;
use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, HashMap, VecDeque};

/// Default number of records a [`Merge`] holds.
pub const DEFAULT_WINDOW: usize = 100_000;

/// An event in time order.
#[derive(Debug, Clone)]
pub struct Ordered {
    /// The record or drop notice.
    pub event: Event,
    /// True when something later than this event had already been emitted: it arrived after
    /// the merge window had moved past its time.
    pub late: bool,
}

/// A held event with its thread key and per-queue tie-breaker.
type Held = ((u32, u32), u64, Event);

/// Sort key of a queue head: time, writer pid, producer, per-thread sequence, queue index.
type Key = (i64, u32, u32, u64, usize);

/// Merges the events of an input (such as a [`Reader`](super::Reader)) into time order with a
/// bounded window. Errors and segment ends pass through at once, ahead of buffered records.
pub struct Merge<I> {
    input: I,
    window: usize,
    queues: Vec<VecDeque<Held>>,
    index: HashMap<(u32, u32), usize>,
    /// Last thread key looked up, and its queue: records come in runs of one thread.
    last: Option<((u32, u32), usize)>,
    heads: BinaryHeap<Reverse<Key>>,
    held: usize,
    /// Drop notices have no per-thread sequence; this numbers them in arrival order.
    notice_seq: u64,
    high_water: Option<i64>,
    /// The input paused (returned `None`): what is held is emitted without asking it again,
    /// until nothing is held.
    paused: bool,
}

impl<I> std::fmt::Debug for Merge<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merge")
            .field("window", &self.window)
            .field("held", &self.held)
            .finish_non_exhaustive()
    }
}

/// Queue key of drop notices: one queue for all of them (they come from the drain, in its
/// order), sorting after records of the same instant.
const NOTICES: (u32, u32) = (u32::MAX, u32::MAX);

impl<I: Iterator<Item = Result<Event, ReadError>>> Merge<I> {
    /// Merges `input`, holding at most `window` records (at least 1).
    pub fn new(input: I, window: usize) -> Self {
        Merge {
            input,
            window: window.max(1),
            queues: Vec::new(),
            index: HashMap::new(),
            last: None,
            heads: BinaryHeap::new(),
            held: 0,
            notice_seq: 0,
            high_water: None,
            paused: false,
        }
    }

    /// Events held, waiting for their turn.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Takes events from the input into the window until it overflows, the input pauses or
    /// ends, or something that is neither a record nor a notice has to pass through.
    fn pull(&mut self) -> Pulled {
        loop {
            let ev = match self.input.next() {
                None => return Pulled::Paused,
                Some(Ok(ev)) => ev,
                Some(Err(e)) => return Pulled::Pass(Err(e)),
            };
            let (key, tie) = match &ev {
                Event::Record(r) => ((r.pid, r.thread.producer), r.thread_seq),
                Event::Dropped(_) => {
                    self.notice_seq += 1;
                    (NOTICES, self.notice_seq)
                }
                _ => return Pulled::Pass(Ok(ev)),
            };
            self.hold(key, tie, ev);
            if self.held > self.window {
                return Pulled::Full;
            }
        }
    }

    fn hold(&mut self, key: (u32, u32), tie: u64, ev: Event) {
        let q = match self.last {
            Some((k, q)) if k == key => q,
            _ => {
                let n = self.queues.len();
                let q = *self.index.entry(key).or_insert(n);
                if q == n {
                    self.queues.push(VecDeque::new());
                }
                self.last = Some((key, q));
                q
            }
        };
        if self.queues[q].is_empty() {
            self.heads.push(Reverse(key_of(&ev, key, tie, q)));
        }
        self.queues[q].push_back((key, tie, ev));
        self.held += 1;
    }

    /// Emits the earliest held event, if any.
    fn pop(&mut self) -> Option<Ordered> {
        let mut top = self.heads.peek_mut()?;
        let Reverse((ts, .., q)) = *top;
        // The queue's next event takes its place in the heap (one sift instead of a pop and a
        // push), or the queue leaves the heap when it is empty.
        let ev = match self.queues[q].pop_front() {
            Some((_, _, ev)) => ev,
            None => {
                PeekMut::pop(top);
                return None;
            }
        };
        self.held -= 1;
        match self.queues[q].front() {
            Some((key, tie, next)) => *top = Reverse(key_of(next, *key, *tie, q)),
            None => {
                PeekMut::pop(top);
            }
        }
        let late = self.high_water.is_some_and(|h| ts < h);
        if !late {
            self.high_water = Some(ts);
        }
        Some(Ordered { event: ev, late })
    }

    /// Emits everything held, in order (used by follow mode when the input is idle).
    pub fn drain_held(&mut self) -> impl Iterator<Item = Ordered> + '_ {
        std::iter::from_fn(move || self.pop())
    }

    /// Gives the merge a new input (follow mode: the same merge over a growing source).
    pub fn input_mut(&mut self) -> &mut I {
        &mut self.input
    }
}

enum Pulled {
    Full,
    Paused,
    Pass(Result<Event, ReadError>),
}

fn key_of(ev: &Event, (pid, producer): (u32, u32), tie: u64, q: usize) -> Key {
    let ts = match ev {
        Event::Record(r) => r.ts_unix_ns,
        Event::Dropped(d) => d.ts_unix_ns,
        _ => i64::MIN,
    };
    (ts, pid, producer, tie, q)
}

impl<I: Iterator<Item = Result<Event, ReadError>>> Iterator for Merge<I> {
    type Item = Result<Ordered, ReadError>;

    /// The next event in order. When the input pauses (returns `None`), everything held is
    /// emitted, without asking the input again, before this returns `None`; a later call asks
    /// the input again, so a growing input (follow mode) can go on.
    fn next(&mut self) -> Option<Self::Item> {
        if self.paused {
            let next = self.pop();
            self.paused = next.is_some();
            return next.map(Ok);
        }
        if self.held <= self.window {
            match self.pull() {
                Pulled::Full => {}
                Pulled::Pass(Ok(event)) => return Some(Ok(Ordered { event, late: false })),
                Pulled::Pass(Err(e)) => return Some(Err(e)),
                Pulled::Paused => {
                    let next = self.pop();
                    self.paused = next.is_some();
                    return next.map(Ok);
                }
            }
        }
        self.pop().map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::super::walk::testing::record;
    use super::*;

    /// An input that pauses where an item is `None`, and counts the times it is asked.
    struct Counted {
        items: VecDeque<Option<Event>>,
        asked: usize,
    }

    impl Iterator for Counted {
        type Item = Result<Event, ReadError>;
        fn next(&mut self) -> Option<Self::Item> {
            self.asked += 1;
            self.items.pop_front().flatten().map(Ok)
        }
    }

    #[test]
    fn a_paused_input_is_asked_again_only_once_everything_held_is_out() {
        let rec = |v: u8| {
            Some(Event::Record(record(
                "x {}",
                &[""],
                0,
                &[crate::wire::tag::U8, v],
            )))
        };
        let items = [rec(1), rec(2), rec(3), None, rec(4), None];
        let mut m = Merge::new(
            Counted {
                items: items.into_iter().collect(),
                asked: 0,
            },
            10,
        );
        let poll = |m: &mut Merge<Counted>| {
            m.by_ref()
                .map(|o| match o.unwrap().event {
                    Event::Record(r) => r.message(),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(poll(&mut m), ["x 1", "x 2", "x 3"]);
        // Three records and the pause: the held records came out without asking again.
        assert_eq!(m.input_mut().asked, 4);
        assert_eq!(poll(&mut m), ["x 4"]);
        assert_eq!(m.input_mut().asked, 6);
        assert!(poll(&mut m).is_empty());
        assert_eq!(m.input_mut().asked, 7);
    }
}
