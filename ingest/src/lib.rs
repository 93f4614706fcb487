//! ingest (being built).
