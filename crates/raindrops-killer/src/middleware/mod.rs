/*!
A tower layer that counts responses and checks the worker's limits once each response body
has been sent in full, so that recycling never cuts a response short.

The check runs when the body ends, fails, or is dropped (the client went away): the
[`Recycler`](crate::Recycler) counts the response, compares the request limit, and every
`cycle` responses reads the memory metric and the clock. The first limit reached calls the
[`Adapter`](crate::Adapter), which stops the worker gracefully outside the request path.

# Example

```
use http::{Request, Response};
use tower::{ServiceBuilder, service_fn};
use raindrops_killer::{KillerLayer, Policy, Recycler, Trigger};

let recycler = Recycler::new(&Policy::new().max_requests(10_000..=12_000), |t: &Trigger| {
    eprintln!("recycling {}: {}", t.pid, t.reason);
})?;
let _service = ServiceBuilder::new().layer(KillerLayer::new(recycler)).service(service_fn(
    |_: Request<String>| async { Ok::<_, std::convert::Infallible>(Response::new(String::new())) },
));
# Ok::<(), raindrops_killer::KillerError>(())
```
*/

mod body;
mod future;
mod layer;
mod service;

pub use body::KillerBody;
pub use future::ResponseFuture;
pub use layer::KillerLayer;
pub use service::Killer;
