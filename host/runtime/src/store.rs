//! What one task's wasmtime `Store` holds. Its own module because both the loader (which
//! links host functions against it) and the runtime (which fills it per task) need it.

use cafe_report_capabilities::TaskCtx;

use crate::limits::TaskLimiter;

/// The data of one task's store: the capabilities it was granted and its resource limiter.
pub(crate) struct StoreState {
    pub(crate) ctx: TaskCtx,
    pub(crate) limiter: TaskLimiter,
}
