// Public logging macros: filled in by the macros work.
