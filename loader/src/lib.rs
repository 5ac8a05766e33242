//! rxdp: the load pipeline.
