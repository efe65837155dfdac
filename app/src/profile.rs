//! Development and production defaults.
