//! `Workers` across real forked processes: exact sums, retire, monotonic reads.
#![cfg(target_os = "linux")]

mod util;

use raindrops::{Schema, ValuesOf, Workers, WorkersSnapshot};

raindrops::counters! {
    /// A worker's stats, as the middleware keeps them.
    struct Http {
        calling: gauge,
        requests: counter,
    }
}

const OPS: u64 = 1_000_000;

#[test]
fn four_workers_on_their_own_rows_sum_exactly() {
    let workers = Workers::<Http>::new(4).unwrap();
    let children: Vec<_> = (0..4)
        .map(|index| {
            let workers = &workers;
            util::spawn(move || {
                let me = workers.worker(index);
                workers.set_pid(index, std::process::id());
                for i in 0..OPS {
                    // A request: calling goes up and down again, requests goes up.
                    if i % 4 == 3 {
                        me.calling().decr();
                        me.requests().incr();
                    } else {
                        me.calling().incr();
                    }
                }
                0
            })
        })
        .collect();
    let pids: Vec<u32> = children.iter().map(|pid| pid.as_raw() as u32).collect();
    for child in children {
        assert_eq!(util::wait(child), 0);
    }
    // Each child leaves OPS/2 requests in flight (3 up for every down) and served OPS/4.
    assert_eq!(workers.sum(), ValuesOf::<Http> { calling: 4 * OPS / 2, requests: OPS });
    let snapshot = workers.snapshot();
    for (row, pid) in snapshot.workers.iter().zip(pids) {
        assert_eq!(row.values, [OPS / 2, OPS / 4]);
        assert_eq!(row.pid, Some(pid));
    }

    // All four die: their requests stay counted, their calls in flight vanish.
    for index in 0..4 {
        workers.retire(index);
    }
    assert_eq!(workers.sum(), ValuesOf::<Http> { calling: 0, requests: OPS });
    assert_eq!(workers.retired().requests().get(), OPS);
    assert!(workers.snapshot().workers.iter().all(|row| row.pid.is_none()));
}

#[test]
fn retire_never_makes_a_reader_see_the_sum_decrease() {
    const INCREMENTS: u64 = 3_000_000;
    let workers = Workers::<Http>::new(3).unwrap();
    // Slot 0: writers finished; slot 1: the reader may stop; slot 2: reads made; slot 3:
    // retires made.
    let flags = raindrops::Drops::new(4).unwrap();

    // A reader process sums continuously and checks the counter never goes down.
    let reader = util::spawn(|| {
        let mut last = 0;
        while flags.get(1) == 0 {
            let requests = workers.sum().requests;
            if requests < last {
                eprintln!("sum went down from {last} to {requests}");
                return 1;
            }
            last = requests;
            flags.incr(2);
        }
        0
    });
    // Two writers hammer their own rows.
    let writers: Vec<_> = (0..2)
        .map(|index| {
            let (workers, flags) = (&workers, &flags);
            util::spawn(move || {
                let me = workers.worker(index);
                for _ in 0..INCREMENTS / 2 {
                    me.requests().incr();
                }
                // Halfway, until the supervisor and the reader have both been busy (bounded):
                // the other half certainly races with both, however the machine schedules.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
                while (flags.get(3) <= 100 || flags.get(2) <= 100)
                    && std::time::Instant::now() < deadline
                {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                for _ in INCREMENTS / 2..INCREMENTS {
                    me.requests().incr();
                }
                flags.incr(0);
                0
            })
        })
        .collect();
    // Meanwhile the "supervisor" retires rows over and over, live ones included, until the
    // writers are done (bounded in time too); a short pause between retires lets the reader
    // finish reads, as a real supervisor retires rarely.
    let (mut round, started) = (0, std::time::Instant::now());
    while flags.get(0) < 2 && started.elapsed().as_secs() < 60 {
        workers.retire(round % 3);
        round += 1;
        flags.incr(3);
        let pause = std::time::Instant::now();
        while pause.elapsed().as_micros() < 20 {
            std::hint::spin_loop();
        }
    }
    for writer in writers {
        assert_eq!(util::wait(writer), 0);
    }
    flags.set(1, 1);
    assert_eq!(util::wait(reader), 0, "the reader saw the sum decrease");
    assert!(round > 100 && flags.get(2) > 100, "{round} retires, {} reads", flags.get(2));
    // No increment was lost to a retire racing with it.
    assert_eq!(workers.sum().requests, 2 * INCREMENTS);
}

#[test]
fn a_workers_file_is_self_describing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http");
    let workers = Workers::<Http>::create(&path, 2).unwrap();
    workers.worker(1).requests().add(9);
    workers.worker(1).calling().incr();
    workers.beat(1);

    let drops = raindrops::Drops::open(&path).unwrap();
    let snap = WorkersSnapshot::of(&drops).unwrap();
    assert_eq!(snap.fields, Http::FIELDS);
    assert_eq!(snap.total, [1, 9]);
    assert!(snap.workers[1].heartbeat_ms.is_some());
    assert!(snap.workers[0].heartbeat_ms.is_none());

    // A typed open checks the fields; a plain counters struct is not a workers file.
    assert_eq!(
        Workers::<Http>::open(&path).unwrap().sum(),
        ValuesOf::<Http> { calling: 1, requests: 9 }
    );
    raindrops::counters! { struct Other { requests: counter } }
    assert!(Workers::<Other>::open(&path).is_err());
    let single = dir.path().join("single");
    Http::create(&single).unwrap();
    assert!(Workers::<Http>::open(&single).is_err());
    assert!(WorkersSnapshot::of(&raindrops::Drops::open(&single).unwrap()).is_none());
}
