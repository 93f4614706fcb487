//! Integration and end-to-end tests (see `it/`).
