//! Loom models of the engine (see issue: loom-tests).
