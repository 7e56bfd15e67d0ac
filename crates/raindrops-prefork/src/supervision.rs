//! [`Supervision`]: the master's row per worker in shared memory, which the worker updates.

raindrops::counters! {
    /// The master's row per worker, besides the heartbeat and pid every row has.
    pub(crate) struct Supervision {
        /// 1 once the worker's runtime has polled the app and beat: it is accepting.
        ready: gauge,
    }
}
