//! `PackedList` as Celery uses it: producers LPUSH at the head, workers RPOP (BRPOP)
//! at the tail. Each iteration is one push plus one pop on a queue kept at a steady
//! depth, so the chunk allocate/seal/drop cycle is part of what is measured.

use std::hint::black_box;

use broker_server::store::packed_list::PackedList;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("list");
    for (size, depth) in [(1024usize, 0usize), (1024, 1000), (100, 1000)] {
        let element = vec![b'm'; size];
        let mut list = PackedList::new();
        for _ in 0..depth {
            list.push_front(&element);
        }
        group.throughput(Throughput::Elements(1));
        group.bench_function(
            BenchmarkId::new("lpush_rpop", format!("{size}b_depth{depth}")),
            |b| {
                b.iter(|| {
                    list.push_front(black_box(&element));
                    black_box(list.pop_back().map(|v| v.len()))
                })
            },
        );
    }
    // A burst: 1,000 1 KiB messages pushed, then all drained, as a worker pool
    // catching up after a producer spike.
    let element = vec![b'm'; 1024];
    group.throughput(Throughput::Elements(1000));
    group.bench_function("burst_1000x1k_push_then_drain", |b| {
        b.iter(|| {
            let mut list = PackedList::new();
            for _ in 0..1000 {
                list.push_front(black_box(&element));
            }
            let mut total = 0;
            while let Some(v) = list.pop_back() {
                total += v.len();
            }
            black_box(total)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
