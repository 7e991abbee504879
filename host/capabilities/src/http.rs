//! The HTTP connection settings both listeners share (the API and the embedded S3
//! endpoint): HTTP/1.1 with a deadline for each request's headers, so a client that
//! trickles them in, or holds an idle connection open, is dropped instead of holding a
//! connection (and a graceful shutdown) for as long as it likes.

use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;

/// The headers' deadline unless configured otherwise.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection builder whose requests must send their headers within `header_timeout`.
pub fn connections(header_timeout: Duration) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder
}
