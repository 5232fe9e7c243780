//! Tag sets: the labels a sample carries (`name`, `method`, `status`, ...).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// An immutable, sorted set of `key=value` tags, cheap to clone, hash and compare.
#[derive(Clone)]
pub struct TagSet(Arc<Inner>);

struct Inner {
    hash: u64,
    pairs: Box<[(Arc<str>, Arc<str>)]>,
}

impl TagSet {
    /// Builds a tag set; a later pair wins over an earlier one with the same key.
    pub fn new<K: Into<Arc<str>>, V: Into<Arc<str>>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut pairs: Vec<(Arc<str>, Arc<str>)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        // Stable sort keeps insertion order among equal keys; keep the last.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut deduped: Vec<(Arc<str>, Arc<str>)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match deduped.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => deduped.push(pair),
            }
        }
        // A fixed-key hasher, so equal sets hash alike wherever they were built.
        let mut hasher = std::hash::DefaultHasher::new();
        deduped.hash(&mut hasher);
        TagSet(Arc::new(Inner {
            hash: hasher.finish(),
            pairs: deduped.into_boxed_slice(),
        }))
    }

    /// The empty tag set.
    pub fn empty() -> Self {
        Self::new(Vec::<(Arc<str>, Arc<str>)>::new())
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .pairs
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()
            .map(|i| self.0.pairs[i].1.as_ref())
    }

    /// The pairs, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }

    /// This set with `extra` added (extra wins on equal keys).
    pub fn with<K: Into<Arc<str>>, V: Into<Arc<str>>>(
        &self,
        extra: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let base = self.0.pairs.iter().cloned();
        let extra = extra.into_iter().map(|(k, v)| (k.into(), v.into()));
        Self::new(base.chain(extra))
    }

    /// Whether every pair of `filter` is in this set.
    pub fn matches(&self, filter: &TagSet) -> bool {
        filter.iter().all(|(k, v)| self.get(k) == Some(v))
    }

    /// True when there are no tags.
    pub fn is_empty(&self) -> bool {
        self.0.pairs.is_empty()
    }
}

impl Default for TagSet {
    fn default() -> Self {
        Self::empty()
    }
}

impl PartialEq for TagSet {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.hash == other.0.hash && self.0.pairs == other.0.pairs)
    }
}

impl Eq for TagSet {}

impl Hash for TagSet {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash);
    }
}

impl std::fmt::Debug for TagSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::fmt::Display for TagSet {
    /// k6's form: `name:GET /seats,status:200`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}:{v}")?;
        }
        Ok(())
    }
}

/// Tag sets built once per distinct key and reused: a VU's requests and checks
/// repeat the same few shapes, and a reused set is cheap to hash and compare.
/// Holds at most [`TagCache::CAPACITY`] sets, then starts over.
#[derive(Debug)]
pub struct TagCache<K> {
    sets: std::collections::HashMap<K, TagSet>,
}

impl<K> Default for TagCache<K> {
    fn default() -> Self {
        Self {
            sets: std::collections::HashMap::new(),
        }
    }
}

impl<K: Hash + Eq> TagCache<K> {
    /// The most sets kept (URLs with ids in them and no `name` make many).
    pub const CAPACITY: usize = 256;

    /// The set for `key`, built by `make` the first time.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce(&K) -> TagSet) -> TagSet {
        if let Some(tags) = self.sets.get(&key) {
            return tags.clone();
        }
        if self.sets.len() >= Self::CAPACITY {
            self.sets.clear();
        }
        let tags = make(&key);
        self.sets.insert(key, tags.clone());
        tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_pairs_win_and_order_does_not_matter() {
        let a = TagSet::new([("b", "1"), ("a", "2"), ("b", "3")]);
        let b = TagSet::new([("a", "2"), ("b", "3")]);
        assert_eq!(a, b);
        assert_eq!(a.get("b"), Some("3"));
        assert_eq!(a.to_string(), "a:2,b:3");
        assert!(a.matches(&TagSet::new([("a", "2")])));
        assert!(!a.matches(&TagSet::new([("a", "1")])));
    }

    #[test]
    fn cache_builds_each_set_once_and_stays_bounded() {
        let mut cache = TagCache::default();
        let mut built = 0;
        for round in 0..3 {
            for i in 0..10 {
                let tags = cache.get_or_insert_with(i, |i| {
                    built += 1;
                    TagSet::new([("i", i.to_string())])
                });
                assert_eq!(tags.get("i"), Some(i.to_string().as_str()), "round {round}");
            }
        }
        assert_eq!(built, 10);
        for i in 0..1000 {
            cache.get_or_insert_with(i, |_| TagSet::empty());
        }
        assert!(cache.sets.len() <= TagCache::<i32>::CAPACITY);
    }
}
