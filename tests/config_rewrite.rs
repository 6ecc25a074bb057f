//! `CONFIG REWRITE` and `CONFIG HELP` against Debian's redis-server, in both
//! protocols, on servers started without a config file. Rewriting a real file and
//! restarting from it is tested with the binary, in `tests/cli.rs`.

mod common;

common::differential_script_tests! {
    config_rewrite_without_a_file_matches_redis_resp2,
    config_rewrite_without_a_file_matches_redis_resp3 => "
        CONFIG REWRITE
        CONFIG REWRITE x
        CONFIG rewrite
        CONFIG HELP
        CONFIG help
    ";
}
