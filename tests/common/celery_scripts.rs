// The three Lua scripts Celery runs, byte for byte (CELERY.md §8). They are not ours:
// they are what the clients send, kept here as test fixtures. The SHA1 is taken over
// the exact bytes, leading and trailing whitespace included.

/// redis-py (MIT), `redis/lock.py`, `Lock.LUA_RELEASE_SCRIPT`: kombu's `Mutex`
/// releases the restore lock with it. SHA1 `c3f8721cbb97f72bc19e972846bd7aaf91901658`.
pub const LOCK_RELEASE: &[u8] = b"\n        local token = redis.call('get', KEYS[1])\n        if not token or token ~= ARGV[1] then\n            return 0\n        end\n        redis.call('del', KEYS[1])\n        return 1\n    ";

/// kombu (BSD), `kombu/transport/redis.py`, `REFRESH_BINDING`: binds a queue that has
/// `x-expires`. SHA1 `ef7a9e205fbaf46bf959e1522ff796622fc676c7`.
pub const REFRESH_BINDING: &[u8] = b"\nredis.call('SADD', KEYS[1], ARGV[1])\nlocal now = redis.call('TIME')\nlocal ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)\nredis.call('ZADD', KEYS[2], 'GT', ms + tonumber(ARGV[3]), ARGV[2])\n";

/// kombu (BSD), `kombu/transport/redis.py`, `SWEEP_BINDINGS`: deletes binding tables
/// nobody refreshed; it builds key names from `ARGV`, so it touches keys it never
/// declared. SHA1 `9a2b966a0a2d2d0e36ec32bc30fc89342b94a4bf`.
pub const SWEEP_BINDINGS: &[u8] = b"\nlocal now = redis.call('TIME')\nlocal ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)\nlocal overdue = redis.call(\n    'ZRANGEBYSCORE', KEYS[1], '-inf', ms, 'LIMIT', 0, tonumber(ARGV[3]))\nfor _, exchange in ipairs(overdue) do\n    if redis.call('EXISTS', ARGV[2] .. exchange) == 0 then\n        redis.call('DEL', ARGV[1] .. exchange)\n    end\n    redis.call('ZREM', KEYS[1], exchange)\nend\nreturn #overdue\n";
