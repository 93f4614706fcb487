//! enrich (being built).
