//! Reading configuration in redis.conf syntax, from a file or from command-line words.
//!
//! A line is a directive name followed by its arguments, split with the same quoting
//! rules as inline requests; `#` starts a comment line. Multi-word values (`bind`,
//! `save`, `client-output-buffer-limit`) are joined with single spaces. A repeated
//! `save` line adds to the previous ones, as in Redis.

use std::path::Path;

use crate::config::Config;
use crate::protocol::inline::split_inline;

/// Applies every directive in `text` to `config`.
///
/// # Returns
/// A one-line error naming the line and the problem.
pub fn apply_text(config: &mut Config, text: &str, origin: &str) -> Result<(), String> {
    let mut saves: Option<Vec<String>> = None;
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut bytes = Vec::new();
        let mut ranges = Vec::new();
        if !split_inline(line.as_bytes(), &mut bytes, &mut ranges) {
            return Err(format!("{origin} line {}: unbalanced quotes", number + 1));
        }
        let words: Vec<String> = ranges
            .iter()
            .map(|&(s, e)| String::from_utf8_lossy(&bytes[s..e]).into_owned())
            .collect();
        let Some((name, args)) = words.split_first() else {
            continue;
        };
        let value = args.join(" ");
        let result = if name.eq_ignore_ascii_case("save") {
            saves.get_or_insert_with(Vec::new).push(value);
            Ok(())
        } else if name.eq_ignore_ascii_case("include") {
            apply_file(config, Path::new(&value))
        } else {
            config.set(name, &value)
        };
        result.map_err(|e| format!("{origin} line {}: {e}", number + 1))?;
    }
    if let Some(saves) = saves {
        let joined: Vec<&str> = saves
            .iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        config.set("save", &joined.join(" "))?;
    }
    Ok(())
}

/// Applies a config file.
pub fn apply_file(config: &mut Config, path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("can't open config file '{}': {e}", path.display()))?;
    apply_text(config, &text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_redis_conf_syntax() {
        let mut config = Config::default();
        apply_text(
            &mut config,
            "# comment\nport 7001\nbind 0.0.0.0 ::1\nrequirepass \"a b\"\nsave 900 1\nsave 60 100\n",
            "test.conf",
        )
        .unwrap();
        assert_eq!(config.port, 7001);
        assert_eq!(config.bind, ["0.0.0.0", "::1"]);
        assert_eq!(config.requirepass.as_deref(), Some("a b"));
        assert_eq!(config.get("save").as_deref(), Some("900 1 60 100"));
    }

    #[test]
    fn errors_name_the_line() {
        let mut config = Config::default();
        let error = apply_text(&mut config, "port 1\nfrobnicate yes\n", "x.conf").unwrap_err();
        assert!(
            error.contains("x.conf line 2") && error.contains("frobnicate"),
            "{error}"
        );
    }
}
