//! Shared test support: the scriptable upstream and the in-process gateway.
#![allow(dead_code)]

pub mod gateway;
pub mod hook;
pub mod otlp;
pub mod postgres;
pub mod tls;
pub mod upstream;
