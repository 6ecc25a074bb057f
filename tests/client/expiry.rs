//! Expiry: exact to the millisecond on access, and reclaimed by the background sweep
//! when nobody reads the keys.

use redis::Value;

use crate::{each_protocol, info, info_int, run, wait_until};

/// The server's clock in milliseconds, from a TIME reply.
fn millis(time: &(i64, i64)) -> i64 {
    time.0 * 1000 + time.1 / 1000
}

#[test]
fn px_50_is_visible_until_its_millisecond_and_gone_after() {
    each_protocol(|_, con, _| {
        // Set and read back in one batch: executed together, well within 50 ms.
        let (set, got, pttl, deadline): (Value, Option<String>, i64, i64) = redis::pipe()
            .cmd("SET")
            .arg("k")
            .arg("v")
            .arg("PX")
            .arg(50)
            .cmd("GET")
            .arg("k")
            .cmd("PTTL")
            .arg("k")
            .cmd("PEXPIRETIME")
            .arg("k")
            .query(con)
            .unwrap();
        assert_eq!(set, Value::Okay);
        assert_eq!(got.as_deref(), Some("v"));
        assert!((1..=50).contains(&pttl), "PTTL {pttl}");
        // Bracket each GET between two readings of the server's clock. A key is
        // alive while the clock is at or before its deadline (Redis's rule), so a
        // hit must have started no later than the deadline, and a miss must end
        // after it.
        let mut hits = 0;
        wait_until("the key to expire", || {
            let (before, got, after): ((i64, i64), Option<String>, (i64, i64)) = redis::pipe()
                .cmd("TIME")
                .cmd("GET")
                .arg("k")
                .cmd("TIME")
                .query(con)
                .unwrap();
            match got {
                Some(_) => {
                    assert!(millis(&before) <= deadline, "alive after its deadline");
                    hits += 1;
                    false
                }
                None => {
                    assert!(millis(&after) > deadline, "expired before its deadline");
                    true
                }
            }
        });
        assert_eq!(run::<i64>(con, &["EXISTS", "k"]), 0);
        assert_eq!(run::<i64>(con, &["PTTL", "k"]), -2);
        assert_eq!(info_int(con, "stats", "expired_keys"), 1);
        let _ = hits;
    });
}

#[test]
fn the_sweep_reclaims_keys_nobody_reads() {
    each_protocol(|_, con, _| {
        let mut batch = redis::pipe();
        for i in 0..200 {
            batch
                .cmd("SET")
                .arg(format!("short:{i}"))
                .arg("v")
                .arg("PX")
                .arg(20)
                .ignore();
        }
        batch.cmd("SET").arg("kept").arg("v").ignore();
        batch.query::<()>(con).unwrap();
        // Only INFO is sent from here on, and INFO reads no key: the count can only
        // grow through the background sweep.
        wait_until("the sweep to expire every short key", || {
            info_int(con, "stats", "expired_keys") == 200
        });
        assert_eq!(
            info(con, Some("keyspace"))["db0"],
            "keys=1,expires=0,avg_ttl=0"
        );
    });
}
