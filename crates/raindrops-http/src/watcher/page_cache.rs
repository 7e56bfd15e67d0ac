//! [`PageCache`]: pages that change once per sample, rendered once per view and served as
//! copies until the next sample.

use std::time::SystemTime;

use bytes::Bytes;

/// The rendered views of one sample, by a key naming the view (e.g. `10m/pressure`).
#[derive(Debug, Default)]
pub(super) struct PageCache {
    time: Option<SystemTime>,
    pages: Vec<(String, Bytes)>,
}

impl PageCache {
    /// The page `key` of the sample taken at `time`: the cached copy, or `render`'s (then
    /// kept). A new sample time drops the older pages.
    pub(super) fn get_or_render(
        &mut self,
        time: SystemTime,
        key: &str,
        render: impl FnOnce() -> Bytes,
    ) -> Bytes {
        if self.time != Some(time) {
            *self = PageCache { time: Some(time), pages: Vec::new() };
        }
        if let Some((_, page)) = self.pages.iter().find(|(k, _)| k == key) {
            return page.clone();
        }
        let page = render();
        self.pages.push((key.to_owned(), page.clone()));
        page
    }
}
