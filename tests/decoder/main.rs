//! The request decoder against its saved fuzz corpus, a seeded random generator,
//! and every input that ever broke it.
//!
//! The corpus lives in `fuzz/corpus/request_decoder/`: the malformed inputs of
//! PROTOCOL.md, the protocol tests' inputs, and what fuzzing found. Each file goes
//! through [`invariants::check`], the same check the fuzz target runs, so a fuzz
//! finding saved there is an ordinary test from then on. Inputs that once crashed
//! the decoder also stay below as named tests.

mod invariants;

use std::path::PathBuf;

use invariants::{Splits, check};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/request_decoder")
}

#[test]
fn every_saved_corpus_input_keeps_the_invariants() {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("the saved corpus is in the repository")
        .map(|entry| entry.expect("readable").path())
        .collect();
    files.sort();
    assert!(files.len() >= 50, "only {} corpus files", files.len());
    for path in files {
        let input = std::fs::read(&path).expect("readable corpus file");
        let outcome = std::panic::catch_unwind(|| check(&input, Splits::All { up_to: 512 }));
        assert!(
            outcome.is_ok(),
            "corpus file {} broke an invariant",
            path.display()
        );
    }
}

/// A small deterministic generator (xorshift64*), so every run tries the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a [u8]]) -> &'a [u8] {
        items[self.below(items.len())]
    }
}

/// Text for a count or length: usually right, sometimes one of the forms Redis
/// refuses.
fn number(rng: &mut Rng, right: usize) -> Vec<u8> {
    let odd: &[&[u8]] = &[
        b"",
        b"-",
        b"+1",
        b"01",
        b"-1",
        b"-0",
        b"x",
        b" 1",
        b"1 ",
        b"2147483648",
        b"9223372036854775808",
        b"536870913",
        b"16385",
        b"11",
        b"\x00",
    ];
    if rng.below(6) == 0 {
        rng.pick(odd).to_vec()
    } else {
        right.to_string().into_bytes()
    }
}

fn random_bytes(rng: &mut Rng, max: usize) -> Vec<u8> {
    let alphabet: &[u8] = b"\r\n\0\"'\\ \tx*$aZ09\x06\x16\xff";
    (0..rng.below(max + 1))
        .map(|_| {
            if rng.below(3) == 0 {
                rng.next() as u8
            } else {
                alphabet[rng.below(alphabet.len())]
            }
        })
        .collect()
}

/// One request-shaped piece: a multibulk request, an inline line, a bare header,
/// an empty request, or garbage.
fn random_piece(rng: &mut Rng, out: &mut Vec<u8>) {
    match rng.below(10) {
        0..=3 => {
            let args: Vec<Vec<u8>> = (0..rng.below(5)).map(|_| random_bytes(rng, 12)).collect();
            out.push(b'*');
            out.extend(number(rng, args.len()));
            out.extend_from_slice(b"\r\n");
            for arg in &args {
                out.push(if rng.below(30) == 0 { b'#' } else { b'$' });
                out.extend(number(rng, arg.len()));
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(arg);
                out.extend_from_slice(rng.pick(&[b"\r\n", b"\r\n", b"xx", b"\n", b""]));
            }
        }
        4..=6 => {
            let words: &[&[u8]] = &[
                b"SET",
                b"k",
                b"\"a b\"",
                b"'c d'",
                b"\"\\x41\\n\"",
                b"\"x\"y",
                b"'\\''",
                b"\"",
                b"'",
                b"\\",
                b"\"\\xZ\"",
                b"x\"y z\"",
                b"\"\"",
                b"\t",
            ];
            for _ in 0..rng.below(5) {
                out.extend_from_slice(rng.pick(words));
                out.push(b' ');
            }
            out.extend_from_slice(rng.pick(&[b"\r\n", b"\n", b"\r", b""]));
        }
        7 => {
            out.extend_from_slice(rng.pick(&[b"*", b"$"]));
            let right = rng.below(20);
            out.extend(number(rng, right));
            out.extend_from_slice(rng.pick(&[b"\r\n", b"\r", b"\n"]));
        }
        8 => out.extend_from_slice(rng.pick(&[b"\r\n", b"\n", b"*0\r\n", b"*-1\r\n", b"   \r\n"])),
        _ => out.extend(random_bytes(rng, 24)),
    }
}

fn random_input(rng: &mut Rng) -> Vec<u8> {
    let mut input = Vec::new();
    for _ in 0..=rng.below(4) {
        random_piece(rng, &mut input);
    }
    // Damage it now and then: cut it short, change a byte, or add one.
    if !input.is_empty() && rng.below(3) == 0 {
        let at = rng.below(input.len());
        input.truncate(at);
    }
    if !input.is_empty() && rng.below(3) == 0 {
        let at = rng.below(input.len());
        input[at] = rng.next() as u8;
    }
    if rng.below(4) == 0 {
        let at = rng.below(input.len() + 1);
        input.insert(at, rng.next() as u8);
    }
    input
}

/// Where a failing generated input is written, to be added to the corpus.
fn save_finding(input: &[u8], case: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("decoder-findings");
    std::fs::create_dir_all(&dir).expect("findings directory");
    let path = dir.join(format!("generated-{case}"));
    std::fs::write(&path, input).expect("finding written");
    path
}

#[test]
fn randomized_inputs_keep_the_invariants() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..3000 {
        let input = random_input(&mut rng);
        if std::panic::catch_unwind(|| check(&input, Splits::Sample(24))).is_err() {
            let path = save_finding(&input, case);
            panic!(
                "generated input {case} broke an invariant: {:?}; saved to {} for the corpus",
                String::from_utf8_lossy(&input),
                path.display()
            );
        }
    }
}

/// Inputs that once broke an invariant. Each stays, by name, for good.
mod regressions {}
