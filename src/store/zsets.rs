//! Sorted-set operations on a database view: socket-free, returning typed errors.
//!
//! Every range command (ZRANGE in all its forms, ZRANGESTORE, ZREMRANGEBY*) reduces
//! its query to a [`Window`]: a contiguous run of ascending ranks and the direction
//! to walk it. A score or lex range is contiguous in rank order, and LIMIT only
//! trims it from the end the walk starts at, so one representation serves reading,
//! storing and removing.

use crate::store::sample::Sample;
use crate::store::sorted_set::{LexBound, ScoreBound};
use crate::store::value::{Set, ZSet};
use crate::store::{DbView, StoreError, Value, ValueType};

/// A member removed from a sorted set, with its score.
pub type Popped = (Box<[u8]>, f64);

/// ZADD's flags.
#[derive(Debug, Default, Clone, Copy)]
pub struct ZaddFlags {
    /// Only add new members.
    pub nx: bool,
    /// Only update existing members.
    pub xx: bool,
    /// Update only when the new score is greater.
    pub gt: bool,
    /// Update only when the new score is lower.
    pub lt: bool,
    /// Add the score to the current one (ZINCRBY, ZADD INCR).
    pub incr: bool,
}

/// What ZADD did.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ZaddOutcome {
    pub added: usize,
    /// Existing members whose score changed.
    pub updated: usize,
    /// With INCR: the member's new score, or `None` when a flag prevented the change.
    pub score: Option<f64>,
}

/// Which elements a range command selects.
#[derive(Debug, Clone, PartialEq)]
pub enum RangeBy {
    /// Ranks, both inclusive; negative counts from the end; with `rev` they count
    /// from the highest element.
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

/// A range query: what to select, in which direction, and LIMIT.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeQuery {
    pub by: RangeBy,
    /// Walk from the highest element down.
    pub rev: bool,
    /// LIMIT offset count: a negative offset selects nothing, a negative count means
    /// no limit.
    pub limit: Option<(i64, i64)>,
}

/// A contiguous run of ascending ranks `start..end`, walked downwards when `rev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: usize,
    pub end: usize,
    pub rev: bool,
}

impl Window {
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The window's elements in walking order.
    pub fn iter<'z>(&self, zset: &'z ZSet) -> Box<dyn Iterator<Item = (&'z [u8], f64)> + 'z> {
        let elements = zset.range_by_rank(self.start, self.end);
        if self.rev {
            Box::new(elements.rev())
        } else {
            Box::new(elements)
        }
    }
}

impl RangeQuery {
    /// The ranks this query selects in `zset`.
    pub fn window(&self, zset: &ZSet) -> Window {
        let len = zset.len();
        let empty = Window {
            start: 0,
            end: 0,
            rev: self.rev,
        };
        let (start, end) = match &self.by {
            RangeBy::Rank(start, end) => {
                let Some((first, last)) = normalize_ranks(*start, *end, len) else {
                    return empty;
                };
                if self.rev {
                    (len - 1 - last, len - first)
                } else {
                    (first, last + 1)
                }
            }
            RangeBy::Score(min, max) => match (
                zset.first_rank_in_score_range(*min, *max),
                zset.last_rank_in_score_range(*min, *max),
            ) {
                (Some(first), Some(last)) => (first, last + 1),
                _ => return empty,
            },
            RangeBy::Lex(min, max) => match (
                zset.first_rank_in_lex_range(min, max),
                zset.last_rank_in_lex_range(min, max),
            ) {
                (Some(first), Some(last)) => (first, last + 1),
                _ => return empty,
            },
        };
        let (mut start, mut end) = (start, end);
        if let Some((offset, count)) = self.limit {
            if offset < 0 {
                return empty;
            }
            let offset = usize::try_from(offset).unwrap_or(usize::MAX);
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            if self.rev {
                end = end.saturating_sub(offset).max(start);
                start = start.max(end.saturating_sub(count));
            } else {
                start = start.saturating_add(offset).min(end);
                end = end.min(start.saturating_add(count));
            }
        }
        Window {
            start,
            end,
            rev: self.rev,
        }
    }
}

/// Redis's rank normalisation: negative ranks count from the end, the start is
/// clamped to 0 and the end to the last rank.
///
/// # Returns
/// The inclusive ranks, or `None` when the range selects nothing.
pub fn normalize_ranks(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { start + len } else { start }.max(0);
    let end = if end < 0 { end + len } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

/// How ZUNIONSTORE and ZINTERSTORE combine the scores of one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, current: f64, value: f64) -> f64 {
        match self {
            // inf + -inf is NaN, which a score may not be: Redis makes it 0.
            Aggregate::Sum => zero_if_nan(current + value),
            Aggregate::Min => current.min(value),
            Aggregate::Max => current.max(value),
        }
    }
}

fn zero_if_nan(score: f64) -> f64 {
    if score.is_nan() { 0.0 } else { score }
}

/// The score as stored: Redis 7.0 keeps integral scores of small sorted sets as
/// integers, so a `-0` reads back as `0`; doing the same everywhere keeps replies
/// identical for the sets Celery uses.
fn stored(score: f64) -> f64 {
    if score == 0.0 { 0.0 } else { score }
}

/// Which combination ZUNION, ZINTER and ZDIFF (and their STORE forms) compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZsetOp {
    Union,
    Inter,
    Diff,
}

/// One input of ZUNION/ZINTER/ZDIFF: a sorted set, a set (every score 1), or
/// nothing (a missing key).
#[derive(Clone, Copy)]
enum Source<'a> {
    Missing,
    Set(&'a Set),
    ZSet(&'a ZSet),
}

impl<'a> Source<'a> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Set(set) => set.len(),
            Source::ZSet(zset) => zset.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Set(set) => set.contains(member).then_some(1.0),
            Source::ZSet(zset) => zset.score(member),
        }
    }

    fn iter(&self) -> Box<dyn Iterator<Item = (&'a [u8], f64)> + 'a> {
        match *self {
            Source::Missing => Box::new(std::iter::empty()),
            Source::Set(set) => Box::new(set.iter().map(|m| (&m[..], 1.0))),
            Source::ZSet(zset) => Box::new(zset.iter()),
        }
    }
}

impl DbView<'_, '_> {
    /// The sorted set under `key`, for reading.
    pub fn zset(&mut self, key: &[u8]) -> Result<Option<&ZSet>, StoreError> {
        match self.typed(key, ValueType::ZSet)? {
            Some(Value::ZSet(zset)) => Ok(Some(zset)),
            _ => Ok(None),
        }
    }

    fn zset_mut(&mut self, key: &[u8]) -> Result<Option<&mut ZSet>, StoreError> {
        match self.typed_mut(key, ValueType::ZSet)? {
            Some(Value::ZSet(zset)) => Ok(Some(zset)),
            _ => Ok(None),
        }
    }

    /// ZADD (and ZINCRBY, as ZADD INCR): applies `pairs` of (score, member) under
    /// `flags`. With INCR there is exactly one pair. The key is created unless XX is
    /// given, and deleted again if nothing was added to a new key.
    pub fn zset_add(
        &mut self,
        key: &[u8],
        flags: ZaddFlags,
        pairs: &[(f64, &[u8])],
    ) -> Result<ZaddOutcome, StoreError> {
        let mut outcome = ZaddOutcome::default();
        let zset = if flags.xx {
            match self.zset_mut(key)? {
                Some(zset) => zset,
                None => return Ok(outcome),
            }
        } else {
            match self.typed_or_insert(key, ValueType::ZSet, || Value::ZSet(Box::default()))? {
                Value::ZSet(zset) => zset,
                _ => unreachable!("typed_or_insert checked the type"),
            }
        };
        let mut failure = None;
        for &(score, member) in pairs {
            match zset.score(member) {
                Some(current) => {
                    if flags.nx {
                        continue;
                    }
                    let score = if flags.incr { score + current } else { score };
                    if score.is_nan() {
                        failure = Some(StoreError::ScoreNan);
                        break;
                    }
                    if (flags.lt && score >= current) || (flags.gt && score <= current) {
                        continue;
                    }
                    if score != current {
                        zset.insert(member, stored(score));
                        outcome.updated += 1;
                    }
                    outcome.score = Some(score);
                }
                None => {
                    if flags.xx {
                        continue;
                    }
                    zset.insert(member, stored(score));
                    outcome.added += 1;
                    outcome.score = Some(score);
                }
            }
        }
        if zset.is_empty() {
            self.remove(key);
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(outcome),
        }
    }

    /// Removes members; the key goes when the sorted set empties.
    ///
    /// # Returns
    /// How many were members.
    pub fn zset_remove<'m>(
        &mut self,
        key: &[u8],
        members: impl IntoIterator<Item = &'m [u8]>,
    ) -> Result<usize, StoreError> {
        let Some(zset) = self.zset_mut(key)? else {
            return Ok(0);
        };
        let removed = members
            .into_iter()
            .filter(|member| zset.remove(member).is_some())
            .count();
        if zset.is_empty() {
            self.remove(key);
        }
        Ok(removed)
    }

    /// Removes and returns up to `count` elements from the low end (ZPOPMIN) or the
    /// high end (ZPOPMAX), in popping order. Shared with the blocking pops.
    pub fn zset_pop(
        &mut self,
        key: &[u8],
        count: usize,
        from_max: bool,
    ) -> Result<Vec<Popped>, StoreError> {
        let Some(zset) = self.zset_mut(key)? else {
            return Ok(Vec::new());
        };
        let take = count.min(zset.len());
        let mut popped = Vec::with_capacity(take);
        for _ in 0..take {
            let element = if from_max {
                zset.pop_max()
            } else {
                zset.pop_min()
            };
            popped.extend(element);
        }
        if zset.is_empty() {
            self.remove(key);
        }
        Ok(popped)
    }

    /// Removes the elements a range query selects (ZREMRANGEBYRANK/SCORE/LEX).
    ///
    /// # Returns
    /// How many were removed.
    pub fn zset_remove_range(
        &mut self,
        key: &[u8],
        query: &RangeQuery,
    ) -> Result<usize, StoreError> {
        let Some(zset) = self.zset_mut(key)? else {
            return Ok(0);
        };
        let window = query.window(zset);
        let removed = if window.is_empty() {
            0
        } else {
            zset.remove_rank_range(window.start, window.end - 1)
        };
        if zset.is_empty() {
            self.remove(key);
        }
        Ok(removed)
    }

    /// The elements of `source` a range query selects, as a new sorted set
    /// (ZRANGESTORE); empty when `source` is missing.
    pub fn zset_range_copy(
        &mut self,
        source: &[u8],
        query: &RangeQuery,
    ) -> Result<ZSet, StoreError> {
        let mut copy = ZSet::new();
        if let Some(zset) = self.zset(source)? {
            for (member, score) in query.window(zset).iter(zset) {
                copy.insert(member, score);
            }
        }
        Ok(copy)
    }

    /// Random elements of a sorted set (ZRANDMEMBER with a count), following the
    /// count rules in [`crate::store::sample`].
    pub fn zset_random(
        &mut self,
        key: &[u8],
        count: i64,
    ) -> Result<Vec<(Vec<u8>, f64)>, StoreError> {
        let Some(zset) = self.zset(key)? else {
            return Ok(Vec::new());
        };
        Ok(Sample::new(zset.len(), count)
            .filter_map(|rank| zset.get_by_rank(rank))
            .map(|(member, score)| (member.to_vec(), score))
            .collect())
    }

    /// The inputs of ZUNION/ZINTER/ZDIFF, in argument order: each key must hold a
    /// sorted set or a set, or be missing.
    fn zset_sources<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> Result<Vec<Source<'_>>, StoreError> {
        keys.into_iter()
            .map(
                |key| match self.peek_shared(key).map(|entry| &entry.value) {
                    None => Ok(Source::Missing),
                    Some(Value::ZSet(zset)) => Ok(Source::ZSet(zset)),
                    Some(Value::Set(set)) => Ok(Source::Set(set)),
                    Some(_) => Err(StoreError::WrongType),
                },
            )
            .collect()
    }

    /// Looks up every input key as a read ([`DbView::read_all`]) and checks that
    /// it holds a sorted set or a set (or is missing); Redis does this once, before
    /// it parses WEIGHTS and AGGREGATE.
    pub fn zset_check_sources<'k>(
        &mut self,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> Result<(), StoreError> {
        let keys: Vec<&[u8]> = keys.into_iter().collect();
        self.read_all(keys.iter().copied(), |kind| {
            matches!(kind, ValueType::ZSet | ValueType::Set)
        });
        self.zset_sources(keys).map(|_| ())
    }

    /// ZUNION, ZINTER or ZDIFF of the inputs under `keys`, each score multiplied by
    /// its weight (`weights` is empty or has one weight per key; ZDIFF ignores it).
    pub fn zset_combine<'k>(
        &self,
        op: ZsetOp,
        keys: impl IntoIterator<Item = &'k [u8]>,
        weights: &[f64],
        aggregate: Aggregate,
    ) -> Result<ZSet, StoreError> {
        let sources = self.zset_sources(keys)?;
        let weight = |i: usize| weights.get(i).copied().unwrap_or(1.0);
        let mut inputs: Vec<(Source<'_>, f64)> = sources
            .into_iter()
            .enumerate()
            .map(|(i, source)| (source, weight(i)))
            .collect();
        let mut result = ZSet::new();
        match op {
            ZsetOp::Diff => {
                let Some(((first, _), others)) = inputs.split_first() else {
                    return Ok(result);
                };
                for (member, score) in first.iter() {
                    if others
                        .iter()
                        .all(|(other, _)| other.score(member).is_none())
                    {
                        result.insert(member, score);
                    }
                }
            }
            ZsetOp::Inter => {
                // Smallest first, as Redis does: the walk is shorter, and sums add up in
                // the same order.
                inputs.sort_by_key(|(source, _)| source.len());
                let Some(((first, first_weight), others)) = inputs.split_first() else {
                    return Ok(result);
                };
                'members: for (member, score) in first.iter() {
                    let mut total = zero_if_nan(score * first_weight);
                    for (other, weight) in others {
                        let Some(score) = other.score(member) else {
                            continue 'members;
                        };
                        total = aggregate.apply(total, score * weight);
                    }
                    result.insert(member, stored(total));
                }
            }
            ZsetOp::Union => {
                inputs.sort_by_key(|(source, _)| source.len());
                let mut totals: indexmap::IndexMap<&[u8], f64, crate::store::value::FastHasher> =
                    Default::default();
                for (source, weight) in &inputs {
                    for (member, score) in source.iter() {
                        let score = zero_if_nan(score * weight);
                        totals
                            .entry(member)
                            .and_modify(|total| *total = aggregate.apply(*total, score))
                            .or_insert(score);
                    }
                }
                for (member, score) in totals {
                    result.insert(member, stored(score));
                }
            }
        }
        Ok(result)
    }

    /// The size of the intersection of the inputs, counting at most `limit` (0
    /// means no limit): ZINTERCARD.
    pub fn zset_inter_card<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k [u8]>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let mut sources = self.zset_sources(keys)?;
        sources.sort_by_key(Source::len);
        let Some((first, others)) = sources.split_first() else {
            return Ok(0);
        };
        let limit = if limit == 0 { usize::MAX } else { limit };
        Ok(first
            .iter()
            .filter(|(member, _)| others.iter().all(|other| other.score(member).is_some()))
            .take(limit)
            .count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Keyspace;

    fn members(zset: &ZSet, window: Window) -> Vec<String> {
        window
            .iter(zset)
            .map(|(m, _)| String::from_utf8_lossy(m).into_owned())
            .collect()
    }

    fn abcd() -> ZSet {
        let mut zset = ZSet::new();
        for (i, m) in ["a", "b", "c", "d"].iter().enumerate() {
            zset.insert(m.as_bytes(), (i + 1) as f64);
        }
        zset
    }

    fn query(by: RangeBy, rev: bool, limit: Option<(i64, i64)>) -> RangeQuery {
        RangeQuery { by, rev, limit }
    }

    #[test]
    fn rank_windows_follow_redis_normalisation() {
        let zset = abcd();
        let w = |s, e, rev| query(RangeBy::Rank(s, e), rev, None).window(&zset);
        assert_eq!(members(&zset, w(0, -1, false)), ["a", "b", "c", "d"]);
        assert_eq!(members(&zset, w(1, 2, false)), ["b", "c"]);
        assert_eq!(members(&zset, w(-2, 100, false)), ["c", "d"]);
        assert_eq!(members(&zset, w(0, 1, true)), ["d", "c"]);
        assert_eq!(members(&zset, w(-1, -1, true)), ["a"]);
        assert!(w(3, 1, false).is_empty());
        assert!(w(10, 20, false).is_empty());
    }

    #[test]
    fn score_windows_with_limit_in_both_directions() {
        let zset = abcd();
        let all = RangeBy::Score(ScoreBound::NEG_INF, ScoreBound::POS_INF);
        let w = |rev, limit| query(all.clone(), rev, limit).window(&zset);
        assert_eq!(members(&zset, w(false, Some((1, 2)))), ["b", "c"]);
        assert_eq!(members(&zset, w(true, Some((1, 2)))), ["c", "b"]);
        assert_eq!(members(&zset, w(true, Some((0, -1)))), ["d", "c", "b", "a"]);
        assert_eq!(members(&zset, w(false, Some((3, 10)))), ["d"]);
        assert!(w(false, Some((-1, 2))).is_empty());
        assert!(w(false, Some((0, 0))).is_empty());
        assert!(w(false, Some((9, 1))).is_empty());
        let open = query(
            RangeBy::Score(ScoreBound::exclusive(1.0), ScoreBound::inclusive(3.0)),
            true,
            None,
        );
        assert_eq!(members(&zset, open.window(&zset)), ["c", "b"]);
    }

    #[test]
    fn lex_windows() {
        let mut zset = ZSet::new();
        for m in ["a", "b", "c", "d"] {
            zset.insert(m.as_bytes(), 0.0);
        }
        let by = RangeBy::Lex(
            LexBound::Exclusive(b"a".to_vec()),
            LexBound::Inclusive(b"c".to_vec()),
        );
        assert_eq!(
            members(&zset, query(by.clone(), false, None).window(&zset)),
            ["b", "c"]
        );
        assert_eq!(
            members(&zset, query(by, true, Some((1, 5))).window(&zset)),
            ["b"]
        );
    }

    #[test]
    fn zadd_flags() {
        let keyspace = Keyspace::new(1);
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        let add = |db: &mut DbView<'_, '_>, flags, pairs: &[(f64, &[u8])]| {
            db.zset_add(b"z", flags, pairs).unwrap()
        };
        let plain = ZaddFlags::default();
        assert_eq!(add(&mut db, plain, &[(1.0, b"a"), (2.0, b"b")]).added, 2);
        let xx = ZaddFlags { xx: true, ..plain };
        assert_eq!(add(&mut db, xx, &[(5.0, b"a"), (1.0, b"new")]).updated, 1);
        let gt = ZaddFlags { gt: true, ..plain };
        let outcome = add(&mut db, gt, &[(4.0, b"a"), (3.0, b"b"), (0.0, b"c")]);
        assert_eq!((outcome.added, outcome.updated), (1, 1));
        assert_eq!(db.zset(b"z").unwrap().unwrap().score(b"a"), Some(5.0));
        let incr = ZaddFlags {
            incr: true,
            ..plain
        };
        assert_eq!(add(&mut db, incr, &[(2.5, b"a")]).score, Some(7.5));
        let nx_incr = ZaddFlags {
            nx: true,
            incr: true,
            ..plain
        };
        assert_eq!(add(&mut db, nx_incr, &[(1.0, b"a")]).score, None);
        db.zset_add(b"z", incr, &[(f64::INFINITY, b"inf")]).unwrap();
        assert_eq!(
            db.zset_add(b"z", incr, &[(f64::NEG_INFINITY, b"inf")]),
            Err(StoreError::ScoreNan)
        );
        // XX on a missing key creates nothing.
        assert_eq!(db.zset_add(b"fresh", xx, &[(1.0, b"a")]).unwrap().added, 0);
        assert!(!db.exists(b"fresh"));
    }

    #[test]
    fn pop_and_remove_delete_the_key_when_empty() {
        let keyspace = Keyspace::new(1);
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        db.insert(b"z", Value::ZSet(Box::new(abcd())), 0);
        let popped = db.zset_pop(b"z", 2, true).unwrap();
        assert_eq!(popped[0], (Box::from(&b"d"[..]), 4.0));
        assert_eq!(popped[1].0[..], b"c"[..]);
        assert_eq!(db.zset_pop(b"z", 1, false).unwrap()[0].0[..], b"a"[..]);
        let all = RangeQuery {
            by: RangeBy::Rank(0, -1),
            rev: false,
            limit: None,
        };
        assert_eq!(db.zset_remove_range(b"z", &all), Ok(1));
        assert!(!db.exists(b"z"));
        assert_eq!(db.zset_pop(b"z", 5, false), Ok(Vec::new()));
    }

    #[test]
    fn combine_weights_aggregates_and_sets() {
        let keyspace = Keyspace::new(1);
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        db.insert(b"z", Value::ZSet(Box::new(abcd())), 0);
        db.set_add(b"s", [&b"a"[..], b"x"]).unwrap();
        let keys: [&[u8]; 2] = [b"z", b"s"];
        let union = db
            .zset_combine(ZsetOp::Union, keys, &[2.0, 10.0], Aggregate::Sum)
            .unwrap();
        assert_eq!(union.score(b"a"), Some(12.0));
        assert_eq!(union.score(b"x"), Some(10.0));
        assert_eq!(union.len(), 5);
        let inter = db
            .zset_combine(ZsetOp::Inter, keys, &[], Aggregate::Max)
            .unwrap();
        assert_eq!((inter.len(), inter.score(b"a")), (1, Some(1.0)));
        let diff = db
            .zset_combine(ZsetOp::Diff, keys, &[], Aggregate::Sum)
            .unwrap();
        assert_eq!(diff.len(), 3);
        assert_eq!(db.zset_inter_card(keys, 0), Ok(1));
        db.insert(b"inf", Value::ZSet(Box::default()), 0);
        db.zset_add(b"inf", ZaddFlags::default(), &[(f64::INFINITY, b"a")])
            .unwrap();
        let nan = db
            .zset_combine(
                ZsetOp::Union,
                [&b"inf"[..], b"inf"],
                &[1.0, -1.0],
                Aggregate::Sum,
            )
            .unwrap();
        assert_eq!(nan.score(b"a"), Some(0.0));
        db.insert(b"str", Value::Str(b"v"[..].into()), 0);
        assert!(
            db.zset_combine(ZsetOp::Union, [&b"str"[..]], &[], Aggregate::Sum)
                .is_err()
        );
    }
}
