//! [`PageCache`]: pages that change once per sample, rendered once per view and served as
//! copies until the next sample.

use std::time::SystemTime;

use bytes::Bytes;

/// The rendered views of one sample, by a key naming the view (e.g. `html/10m/pressure/false/`),
/// at most [`PageCache::MAX_VIEWS`] of them.
#[derive(Debug, Default)]
pub(super) struct PageCache {
    time: Option<SystemTime>,
    pages: Vec<(String, Bytes)>,
}

impl PageCache {
    /// How many views of a sample are kept: every filter a client types is a view, so past
    /// this a view is rendered for its request and not kept (memory stays bounded).
    pub(super) const MAX_VIEWS: usize = 64;

    /// The page `key` of the sample taken at `time`: the cached copy, or `render`'s (then
    /// kept, room allowing). A newer sample time drops the older pages; a request that read
    /// an older sample than the pages held (it raced the sampler) gets its page rendered and
    /// not kept, so the newer pages stay.
    pub(super) fn get_or_render(
        &mut self,
        time: SystemTime,
        key: &str,
        render: impl FnOnce() -> Bytes,
    ) -> Bytes {
        if self.time.is_some_and(|held| held > time) {
            return render();
        }
        if self.time != Some(time) {
            *self = PageCache { time: Some(time), pages: Vec::new() };
        }
        if let Some((_, page)) = self.pages.iter().find(|(k, _)| k == key) {
            return page.clone();
        }
        let page = render();
        if self.pages.len() < Self::MAX_VIEWS {
            self.pages.push((key.to_owned(), page.clone()));
        }
        page
    }

    /// The keys of the views held, oldest first.
    #[cfg(test)]
    pub(super) fn keys(&self) -> Vec<&str> {
        self.pages.iter().map(|(k, _)| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Duration;

    use super::*;

    #[test]
    fn each_view_rendered_once_per_sample_and_at_most_max_views_kept() {
        let renders = Cell::new(0);
        let render = |text: String| {
            renders.set(renders.get() + 1);
            Bytes::from(text)
        };
        let mut cache = PageCache::default();
        let t0 = SystemTime::UNIX_EPOCH;
        for _ in 0..3 {
            assert_eq!(cache.get_or_render(t0, "a", || render("a0".into())), "a0");
        }
        assert_eq!(renders.get(), 1);
        // Views past the cap: rendered for each request, never kept.
        for i in 1..PageCache::MAX_VIEWS + 10 {
            cache.get_or_render(t0, &format!("v{i}"), || render(format!("v{i}")));
        }
        assert_eq!(cache.keys().len(), PageCache::MAX_VIEWS);
        let before = renders.get();
        assert_eq!(cache.get_or_render(t0, "extra", || render("x".into())), "x");
        assert_eq!(cache.get_or_render(t0, "extra", || render("x".into())), "x");
        assert_eq!(renders.get(), before + 2);
        // A new sample: everything rendered anew.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(cache.get_or_render(t1, "a", || render("a1".into())), "a1");
        assert_eq!(cache.keys(), ["a"]);
        // A late request for the older sample: its own page, and the newer one is kept.
        assert_eq!(cache.get_or_render(t0, "a", || render("a0".into())), "a0");
        let before = renders.get();
        assert_eq!(cache.get_or_render(t1, "a", || render("a1 again".into())), "a1");
        assert_eq!(renders.get(), before);
    }
}
