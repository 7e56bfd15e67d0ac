//! The accept wrappers' cost of recording a connection's wait (one `getsockopt(TCP_INFO)` and a
//! `SharedAggregate` record) beside the cost of the `accept` it follows, on loopback. Prints ns
//! per call, medians of 7 runs.
//!
//! `cargo bench -p raindrops-http --bench accept_wait`

use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use raindrops::SharedAggregate;
use raindrops_http::listeners::accept_wait;

const RECORDS: u32 = 200_000;
/// Below std's listen backlog (128).
const ACCEPTS: u32 = 100;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// ns per `accept`, `record`ing each accepted stream's wait when asked, of `ACCEPTS`
/// connections queued beforehand.
fn accepts(listener: &TcpListener, waits: &SharedAggregate, record: bool) -> std::io::Result<f64> {
    let addr = listener.local_addr()?;
    let clients: Vec<TcpStream> =
        (0..ACCEPTS).map(|_| TcpStream::connect(addr)).collect::<Result<_, _>>()?;
    let recorder = waits.recorder(0);
    let mut streams = Vec::with_capacity(clients.len());
    let start = Instant::now();
    for _ in 0..ACCEPTS {
        let (stream, _) = listener.accept()?;
        if record {
            accept_wait::record(&recorder, &stream);
        }
        streams.push(stream);
    }
    Ok(start.elapsed().as_nanos() as f64 / f64::from(ACCEPTS))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let waits = SharedAggregate::new(1)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let _client = TcpStream::connect(listener.local_addr()?)?;
    let (stream, _) = listener.accept()?;
    let recorder = waits.recorder(0);
    let record = median(
        (0..7)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..RECORDS {
                    accept_wait::record(&recorder, std::hint::black_box(&stream));
                }
                start.elapsed().as_nanos() as f64 / f64::from(RECORDS)
            })
            .collect(),
    );
    let big = TcpListener::bind("127.0.0.1:0")?;
    let mut plain = Vec::new();
    let mut recording = Vec::new();
    for _ in 0..7 {
        plain.push(accepts(&big, &waits, false)?);
        recording.push(accepts(&big, &waits, true)?);
    }
    let (plain, recording) = (median(plain), median(recording));
    println!("record (getsockopt TCP_INFO + SharedAggregate):  {record:8.0} ns");
    println!("accept alone:                                    {plain:8.0} ns");
    println!("accept + record:                                 {recording:8.0} ns");
    println!("recording adds {:.0} ns ({:.2}x accept)", recording - plain, recording / plain);
    Ok(())
}
