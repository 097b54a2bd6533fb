//! What the gateway tells about itself: live figures per window, Prometheus metrics, and the
//! OpenTelemetry trace export.

pub mod live;
pub mod metrics;
pub mod telemetry;

pub use live::{LiveStats, StatsReport};
