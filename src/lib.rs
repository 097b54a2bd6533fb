//! Sluice: an actor-based LLM gateway.
