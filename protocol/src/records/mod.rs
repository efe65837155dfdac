//! Record batches (placeholder until the records module lands).
