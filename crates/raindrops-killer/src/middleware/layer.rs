use std::sync::Arc;

use tower::Layer;

use super::service::Killer;
use crate::Recycler;

/// Wraps a service in [`Killer`]; see the [module docs](super).
///
/// ```
/// use raindrops_killer::{KillerLayer, Policy, Recycler, Trigger};
/// let layer = KillerLayer::new(Recycler::new(&Policy::new(), |_: &Trigger| {})?);
/// assert_eq!(layer.recycler().served(), 0);
/// # Ok::<(), raindrops_killer::KillerError>(())
/// ```
#[derive(Debug, Clone)]
pub struct KillerLayer {
    recycler: Arc<Recycler>,
}

impl KillerLayer {
    /// A layer counting into `recycler`.
    ///
    /// ```
    /// # use raindrops_killer::{KillerLayer, Policy, Recycler, Trigger};
    /// let _layer = KillerLayer::new(Recycler::new(&Policy::new(), |_: &Trigger| {})?);
    /// # Ok::<(), raindrops_killer::KillerError>(())
    /// ```
    pub fn new(recycler: Recycler) -> Self {
        KillerLayer { recycler: Arc::new(recycler) }
    }

    /// The recycler every service of this layer counts into.
    ///
    /// ```
    /// # use raindrops_killer::{KillerLayer, Policy, Recycler, Trigger};
    /// let layer = KillerLayer::new(Recycler::new(&Policy::new(), |_: &Trigger| {})?);
    /// assert!(!layer.recycler().triggered());
    /// # Ok::<(), raindrops_killer::KillerError>(())
    /// ```
    pub fn recycler(&self) -> &Arc<Recycler> {
        &self.recycler
    }
}

impl<S> Layer<S> for KillerLayer {
    type Service = Killer<S>;

    fn layer(&self, inner: S) -> Killer<S> {
        Killer::new(inner, Arc::clone(&self.recycler))
    }
}
