//! A batched log writer: log lines collect in memory and a background thread writes them to
//! stdout every [`FLUSH_EVERY`] (or at once past [`FLUSH_AT`] bytes), so a request never waits
//! on a write syscall for its log line. [`LogBuffer::flush`] empties it at shutdown.

use std::{io::Write, sync::Arc, time::Duration};

use parking_lot::Mutex;
use tracing_subscriber::fmt::MakeWriter;

/// How often the background thread writes what has collected.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Past this many bytes the line that crosses it writes the batch itself (at ~10,000 requests/s
/// the background thread gets there first).
pub const FLUSH_AT: usize = 512 * 1024;

/// The shared buffer; clone it freely.
#[derive(Clone, Default)]
pub struct LogBuffer {
    buf: Arc<Mutex<Vec<u8>>>,
    /// The batch being written; swapped with `buf`, so both keep their capacity and a line is
    /// never appended to a buffer regrowing from nothing.
    out: Arc<Mutex<Vec<u8>>>,
}

impl LogBuffer {
    /// A buffer with its flushing thread started.
    pub fn start() -> Self {
        let me = LogBuffer::default();
        let flusher = me.clone();
        std::thread::Builder::new()
            .name("log-flush".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(FLUSH_EVERY);
                    flusher.flush();
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| {
                eprintln!("sluice: no log flushing thread ({e}); logs are written at exit")
            });
        me
    }

    /// Writes out everything collected so far.
    pub fn flush(&self) {
        let mut out = self.out.lock();
        std::mem::swap(&mut *self.buf.lock(), &mut *out);
        if !out.is_empty() {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(&out);
            let _ = stdout.flush();
            out.clear();
        }
    }
}

/// One log line being written.
pub struct LineWriter<'a>(&'a LogBuffer);

impl Write for LineWriter<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let full = {
            let mut buf = self.0.buf.lock();
            buf.extend_from_slice(data);
            buf.len() >= FLUSH_AT
        };
        if full {
            self.0.flush();
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogBuffer {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_collect_until_flushed() {
        let logs = LogBuffer::default();
        let mut w = logs.make_writer();
        w.write_all(b"{\"a\":1}\n").unwrap_or_default();
        w.write_all(b"{\"b\":2}\n").unwrap_or_default();
        assert_eq!(logs.buf.lock().as_slice(), b"{\"a\":1}\n{\"b\":2}\n");
        logs.flush();
        assert!(logs.buf.lock().is_empty());
    }
}
