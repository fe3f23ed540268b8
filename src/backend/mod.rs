//! The consuming side: the drain thread that moves records from every producer's ring into
//! frames of the current segment (`drain`), and the writer of those frames (`writer`).
mod drain;
mod writer;

pub(crate) use drain::Drain;
