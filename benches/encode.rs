//! Reply encoder: the cost of rendering the replies a broker sends most, in RESP2
//! and RESP3 (bulk strings, arrays of bulks, doubles, maps), through `ReplyWriter`'s
//! typed calls and through a composed `Reply`.

use std::hint::black_box;

use broker_server::protocol::{Protocol, Reply, ReplyWriter};
use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const PROTOCOLS: [(&str, Protocol); 2] = [("resp2", Protocol::Resp2), ("resp3", Protocol::Resp3)];

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    let value_100 = vec![b'x'; 100];
    let message_1k = vec![b'm'; 1024];
    let members: Vec<Vec<u8>> = (0..16)
        .map(|i| format!("member:{i}").into_bytes())
        .collect();
    let map = Reply::Map(
        (0..8)
            .map(|i| {
                (
                    Reply::Bulk(Bytes::from(format!("field{i}"))),
                    Reply::Int(i * 1000),
                )
            })
            .collect(),
    );
    for (name, protocol) in PROTOCOLS {
        let mut out = Vec::with_capacity(64 * 1024);
        group.bench_function(BenchmarkId::new("ok_x16", name), |b| {
            b.iter(|| {
                out.clear();
                let mut w = ReplyWriter::new(&mut out, protocol);
                for _ in 0..16 {
                    w.ok();
                }
                black_box(out.len())
            })
        });
        group.bench_function(BenchmarkId::new("bulk_100b_x16", name), |b| {
            b.iter(|| {
                out.clear();
                let mut w = ReplyWriter::new(&mut out, protocol);
                for _ in 0..16 {
                    w.bulk(black_box(&value_100));
                }
                black_box(out.len())
            })
        });
        group.bench_function(BenchmarkId::new("null_x16", name), |b| {
            b.iter(|| {
                out.clear();
                let mut w = ReplyWriter::new(&mut out, protocol);
                for _ in 0..16 {
                    w.null();
                }
                black_box(out.len())
            })
        });
        // BRPOP's answer: [key, 1 KiB message].
        group.bench_function(BenchmarkId::new("brpop_pair_1k", name), |b| {
            b.iter(|| {
                out.clear();
                let mut w = ReplyWriter::new(&mut out, protocol);
                w.array_len(2);
                w.bulk(b"celery");
                w.bulk(black_box(&message_1k));
                black_box(out.len())
            })
        });
        group.bench_function(BenchmarkId::new("array_16_bulks", name), |b| {
            b.iter(|| {
                out.clear();
                let mut w = ReplyWriter::new(&mut out, protocol);
                w.array_len(members.len());
                for member in &members {
                    w.bulk(black_box(member));
                }
                black_box(out.len())
            })
        });
        // ZSCORE-like replies: %.17g formatting dominates.
        group.bench_function(BenchmarkId::new("double_x16", name), |b| {
            b.iter(|| {
                out.clear();
                let mut w = ReplyWriter::new(&mut out, protocol);
                for i in 0..16 {
                    w.double(black_box(1_700_000_000.123 + i as f64));
                }
                black_box(out.len())
            })
        });
        group.bench_function(BenchmarkId::new("map_8_composed", name), |b| {
            b.iter(|| {
                out.clear();
                ReplyWriter::new(&mut out, protocol).reply(black_box(&map));
                black_box(out.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
