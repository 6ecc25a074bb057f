//! Active expiry: the background sweep that reclaims keys nobody reads.
//!
//! Each step visits every shard once, locking one at a time, and examines a bounded
//! number of entries per database slice from where the previous step stopped. Unlike
//! Redis's random sampling this walk is deterministic: every expired key is reclaimed
//! within `entries / (budget * steps per second)` seconds, whatever the mix of keys.
//! The same pass shrinks the tables of slices that have mostly emptied.

use crate::store::Keyspace;

/// Entries examined per database slice per step.
pub const SWEEP_BUDGET: usize = 200;

/// Runs one sweep step over every shard.
///
/// # Returns
/// The number of keys expired.
pub fn sweep_step(keyspace: &Keyspace, now_ms: u64) -> u64 {
    sweep_step_with(keyspace, now_ms, |_, _| {})
}

/// [`sweep_step`], handing each expired `(db, key)` to `on_expired` (keyspace
/// notifications). It runs under the shard's lock: collect, and act after. Nothing
/// is expired while expiry is suspended ([`Keyspace::suspend_expiry_until`]).
pub fn sweep_step_with(
    keyspace: &Keyspace,
    now_ms: u64,
    mut on_expired: impl FnMut(usize, Box<[u8]>),
) -> u64 {
    if keyspace.expiry_suspended(now_ms) {
        return 0;
    }
    let mut expired = 0;
    keyspace.for_each_idle_shard(|_, shard| {
        let mut in_shard = 0;
        for (index, db) in shard.dbs.iter_mut().enumerate() {
            in_shard += db
                .sweep_with(now_ms, SWEEP_BUDGET, |key| on_expired(index, key.into()))
                .1;
            db.shrink_if_sparse();
        }
        shard.stats.expired_keys += in_shard;
        expired += in_shard;
    });
    expired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Value;

    #[test]
    fn a_step_reclaims_expired_keys_in_every_shard() {
        let keyspace = Keyspace::new(2);
        {
            let mut locked = keyspace.lock_all();
            let mut db = locked.db(1, 0);
            for i in 0..500u32 {
                db.insert(&i.to_le_bytes(), Value::Str(b"v"[..].into()), 50);
            }
        }
        assert_eq!(sweep_step(&keyspace, 100), 500);
        let mut locked = keyspace.lock_all();
        assert_eq!(locked.db(1, 100).len(), 0);
    }

    #[test]
    fn no_step_expires_anything_while_expiry_is_suspended() {
        let keyspace = Keyspace::new(1);
        {
            let mut locked = keyspace.lock_all();
            let mut db = locked.db(0, 0);
            for i in 0..50u32 {
                db.insert(&i.to_le_bytes(), Value::Str(b"v"[..].into()), 50);
            }
        }
        keyspace.suspend_expiry_until(200);
        assert_eq!(sweep_step(&keyspace, 100), 0);
        assert_eq!(keyspace.lock_all().db(0, 100).len(), 50);
        keyspace.suspend_expiry_until(0);
        assert_eq!(sweep_step(&keyspace, 100), 50);
    }

    #[test]
    fn slices_that_empty_give_their_tables_back() {
        let keyspace = Keyspace::new(1);
        let table_bytes = |keyspace: &Keyspace| -> usize {
            let locked = keyspace.lock_all();
            locked
                .shards_ref()
                .map(|(_, shard)| shard.dbs[0].table_bytes())
                .sum()
        };
        {
            let mut locked = keyspace.lock_all();
            let mut db = locked.db(0, 0);
            for i in 0..40_000u32 {
                let deadline = if i < 39_000 { 50 } else { 0 };
                db.insert(&i.to_le_bytes(), Value::Str(b"v"[..].into()), deadline);
            }
        }
        let peak = table_bytes(&keyspace);
        let mut expired = 0;
        for _ in 0..1_000 {
            if expired == 39_000 {
                break;
            }
            expired += sweep_step(&keyspace, 100);
        }
        assert_eq!(expired, 39_000);
        let after = table_bytes(&keyspace);
        assert!(after * 8 < peak, "tables hold {after} B of {peak} B");
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 100);
        assert_eq!(db.len(), 1_000);
        for i in 39_000..40_000u32 {
            assert!(db.exists(&i.to_le_bytes()), "key {i} survives");
        }
    }
}
