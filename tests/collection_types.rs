//! Every collection type against every other family: TYPE, OBJECT ENCODING,
//! SCAN ... TYPE, WRONGTYPE, and keys that vanish when emptied, compared with
//! Debian's redis-server in both protocols.

mod common;

const TYPES: &str = "
SET s v
HSET h f v
SADD st m
SADD si 1 2 3
ZADD z 1 m
TYPE s
TYPE h
TYPE st
TYPE si
TYPE z
TYPE missing
OBJECT ENCODING h
OBJECT ENCODING st
OBJECT ENCODING si
OBJECT ENCODING z
~SCAN 0 COUNT 1000 TYPE hash
~SCAN 0 COUNT 1000 TYPE set
~SCAN 0 COUNT 1000 TYPE zset
~SCAN 0 COUNT 1000 TYPE string
~SCAN 0 COUNT 1000 TYPE ZSET
~SCAN 0 COUNT 1000 MATCH s* TYPE set
HGET s f
HGET st f
HGET z f
HSET z f v
SADD h m
SADD z m
SISMEMBER h m
SMEMBERS z
ZADD h 1 m
ZADD st 1 m
ZSCORE s m
ZRANGE h 0 -1
ZUNIONSTORE out 2 z h
ZUNIONSTORE out 2 z st
ZINTER 2 z s
SUNION st z
SDIFF st h
SINTERSTORE out st s
SMOVE st z m
GET h
GET z
INCR st
APPEND z x
HDEL h f
SREM st m
ZREM z m
SPOP si 3
EXISTS h st z si
TYPE h
DBSIZE
";

common::differential_script_tests! {
    types_resp2, types_resp3 => TYPES;
}
