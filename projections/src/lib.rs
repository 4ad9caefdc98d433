//! Pure projections of pilot-tracker.
