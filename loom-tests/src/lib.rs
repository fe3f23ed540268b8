//! Loom models of tachylog's concurrency protocol live here (run with `--cfg loom`).
//! This crate is a placeholder until the models land; it only checks that the engine builds
//! as a dependency of a separate crate.

#[cfg(test)]
mod tests {
    #[test]
    fn engine_links_as_a_dependency() {
        assert_eq!(tachylog::Level::Info.as_str(), "INFO");
    }
}
