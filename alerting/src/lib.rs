//! alerting (being built).
