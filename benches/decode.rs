//! Request decoder: how many requests per second `RequestDecoder` turns into
//! argument ranges, for the shapes a server sees.
//!
//! * a pipeline of 16 `SET key:%08d <100 B>` / `GET key:%08d` (redis-benchmark `-P 16`),
//! * one request at a time (`-P 1`),
//! * one large bulk argument (a 1 MiB value),
//! * inline requests (`redis-cli`, telnet).
//!
//! Throughput is reported in bytes so the shapes can be compared.

use std::hint::black_box;

use broker_server::persist::record::encode_command;
use broker_server::protocol::RequestDecoder;
use broker_server::protocol::decode::DecodeLimits;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const LIMITS: DecodeLimits = DecodeLimits {
    max_bulk_len: 512 * 1024 * 1024,
    unauthenticated: false,
};

fn multibulk(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command(&mut out, args.iter().copied());
    out
}

/// `count` requests built by `make`, back to back.
fn pipeline(count: usize, make: impl Fn(usize) -> Vec<u8>) -> Vec<u8> {
    (0..count).flat_map(make).collect()
}

fn set_request(i: usize) -> Vec<u8> {
    let key = format!("key:{i:08}");
    multibulk(&[b"SET", key.as_bytes(), &[b'x'; 100]])
}

fn get_request(i: usize) -> Vec<u8> {
    let key = format!("key:{i:08}");
    multibulk(&[b"GET", key.as_bytes()])
}

/// Decodes every request in `input` and touches each argument, as the gate would.
fn decode_all(decoder: &mut RequestDecoder, input: &[u8]) -> usize {
    let mut offset = 0;
    let mut total = 0;
    while let Some(consumed) = decoder.decode(&input[offset..], &LIMITS).unwrap() {
        let args = decoder.args(&input[offset..]);
        total += args.len() + args[args.len() - 1].len();
        offset += consumed;
    }
    total
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("set_p1", pipeline(1, set_request)),
        ("set_p16", pipeline(16, set_request)),
        ("get_p1", pipeline(1, get_request)),
        ("get_p16", pipeline(16, get_request)),
        (
            "bulk_1mib",
            multibulk(&[b"SET", b"big", &vec![b'v'; 1024 * 1024]]),
        ),
        (
            "inline_p16",
            pipeline(16, |i| format!("SET key:{i:08} value-{i}\r\n").into_bytes()),
        ),
    ];
    for (name, input) in &cases {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(*name, |b| {
            let mut decoder = RequestDecoder::new();
            b.iter(|| decode_all(&mut decoder, black_box(input)))
        });
    }
    // A large bulk arriving in 16 KiB reads: the decoder must wait by length alone,
    // never re-scanning what it has already seen.
    let big = multibulk(&[b"SET", b"big", &vec![b'v'; 1024 * 1024]]);
    group.throughput(Throughput::Bytes(big.len() as u64));
    group.bench_function("bulk_1mib_in_16k_reads", |b| {
        let mut decoder = RequestDecoder::new();
        b.iter(|| {
            let mut end = 0;
            loop {
                end = (end + 16 * 1024).min(big.len());
                if let Some(consumed) = decoder.decode(black_box(&big[..end]), &LIMITS).unwrap() {
                    break consumed;
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
