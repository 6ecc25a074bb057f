//! Keyspace operations as a command runs them: lock the key's shard, then GET or SET
//! through a `DbView`, with and without a TTL. 100,000 keys of 100 B values, as
//! redis-benchmark `-r 100000 -d 100` makes; keys are visited in a scattered order so
//! the map is not walked sequentially.

use std::hint::black_box;

use broker_server::store::Keyspace;
use broker_server::store::strings::Expiry;
use criterion::{Criterion, criterion_group, criterion_main};

const KEYS: usize = 100_000;
const NOW_MS: u64 = 1_700_000_000_000;

fn keys() -> Vec<Vec<u8>> {
    // A fixed odd stride visits every key once, in a scattered order.
    (0..KEYS)
        .map(|i| format!("key:{:08}", (i * 7919) % KEYS).into_bytes())
        .collect()
}

fn loaded(keys: &[Vec<u8>], ttl: bool) -> Keyspace {
    let keyspace = Keyspace::new(16);
    for key in keys {
        let mut locked = keyspace.lock(keyspace.mask_of([&key[..]]));
        let expiry = if ttl {
            Expiry::At(NOW_MS + 86_400_000)
        } else {
            Expiry::Clear
        };
        locked.db(0, NOW_MS).set_string(key, &[b'x'; 100], expiry);
    }
    keyspace
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("keyspace");
    let keys = keys();
    let value = [b'y'; 100];
    for (label, ttl) in [("", false), ("_ttl", true)] {
        let keyspace = loaded(&keys, ttl);
        let mut next = 0;
        group.bench_function(format!("get_hit{label}"), |b| {
            b.iter(|| {
                let key = &keys[next % KEYS];
                next += 1;
                let mut locked = keyspace.lock(keyspace.mask_of([&key[..]]));
                let mut db = locked.db(0, NOW_MS);
                black_box(db.get_string(key).unwrap().map(<[u8]>::len))
            })
        });
        group.bench_function(format!("set_overwrite{label}"), |b| {
            b.iter(|| {
                let key = &keys[next % KEYS];
                next += 1;
                let expiry = if ttl {
                    Expiry::At(NOW_MS + 86_400_000)
                } else {
                    Expiry::Clear
                };
                let mut locked = keyspace.lock(keyspace.mask_of([&key[..]]));
                locked
                    .db(0, NOW_MS)
                    .set_string(key, black_box(&value), expiry);
            })
        });
    }
    let keyspace = Keyspace::new(16);
    let mut next = 0u64;
    group.bench_function("get_miss", |b| {
        b.iter(|| {
            next += 1;
            let key = next.to_le_bytes();
            let mut locked = keyspace.lock(keyspace.mask_of([&key[..]]));
            black_box(locked.db(0, NOW_MS).get_string(&key).unwrap().is_none())
        })
    });
    // SETEX of a Celery result into a growing keyspace, then deleting it again, so
    // the map size stays bounded whatever the iteration count.
    let keyspace = Keyspace::new(16);
    let result = [b'{'; 152];
    let mut next = 0u64;
    group.bench_function("setex_insert_then_del", |b| {
        b.iter(|| {
            next += 1;
            let key = format!("celery-task-meta-{next:032x}");
            let mut locked = keyspace.lock(keyspace.mask_of([key.as_bytes()]));
            let mut db = locked.db(0, NOW_MS);
            db.set_string(key.as_bytes(), &result, Expiry::At(NOW_MS + 86_400_000));
            black_box(db.remove(key.as_bytes()).is_some())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
