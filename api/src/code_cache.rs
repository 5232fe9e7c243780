//! The CLI's cache of compiled scenarios, so that a large component (an
//! 18 MB Python guest takes about 20 s to compile) compiles on its first run
//! only.
//!
//! One file per component and engine: `<sha256 of the bytes>-<engine
//! compatibility key>.code`, where the key changes with wasmtime's version and
//! code settings. The folder is `$VOLLEY_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/volley`, else `~/.cache/volley`. Damaged or foreign entries
//! are compiled again and replaced; only the most recent entries are kept.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use volley_runtime::engine::VolleyEngine;
use volley_runtime::scenario::{Scenario, ScenarioError, sha256_hex};

/// Entries kept; the least recently used beyond this are deleted.
const KEPT_ENTRIES: usize = 32;

/// Compiles slower than this are reported, with where the code was kept.
const SLOW_COMPILE: Duration = Duration::from_secs(1);

/// A folder of compiled scenarios.
pub struct CodeCache {
    dir: PathBuf,
}

impl CodeCache {
    /// The cache in the folder the environment names, if any can be found.
    pub fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        let dir = var("VOLLEY_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| var("XDG_CACHE_HOME").map(|dir| PathBuf::from(dir).join("volley")))
            .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".cache/volley")))?;
        Some(Self { dir })
    }

    /// The cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `bytes` compiled for `engine`: loaded from the cache when it holds
    /// them, else compiled and stored. A cache that cannot be read or written
    /// costs only the compile, with a warning.
    pub fn compile(&self, engine: &VolleyEngine, bytes: &[u8]) -> Result<Scenario, ScenarioError> {
        let entry = self.entry(engine, bytes);
        if let Ok(code) = std::fs::read(&entry) {
            match Scenario::from_precompiled(engine, bytes, &code) {
                Ok(scenario) => {
                    touch(&entry);
                    return Ok(scenario);
                }
                // Refused for what the bytes are (an import, an export): no
                // compile would do better.
                Err(e @ (ScenarioError::UnsupportedImport(_) | ScenarioError::NotAScenario(_))) => {
                    return Err(e);
                }
                Err(_) => {}
            }
        }
        let started = Instant::now();
        let scenario = Scenario::compile(engine, bytes)?;
        let took = started.elapsed();
        match self.store(&entry, &scenario) {
            Ok(()) if took > SLOW_COMPILE => eprintln!(
                "volley: compiled the scenario in {:.1} s; the code is cached in {} for the next runs",
                took.as_secs_f64(),
                self.dir.display()
            ),
            Ok(()) => {}
            Err(e) => eprintln!(
                "volley: warning: cannot cache the compiled scenario in {}: {e}",
                self.dir.display()
            ),
        }
        Ok(scenario)
    }

    fn entry(&self, engine: &VolleyEngine, bytes: &[u8]) -> PathBuf {
        self.dir.join(format!(
            "{}-{}.code",
            sha256_hex(bytes),
            engine.compatibility_key()
        ))
    }

    /// Writes the entry whole (through a temporary file and a rename, so a
    /// concurrent run never reads half of it), then trims the cache.
    fn store(&self, entry: &Path, scenario: &Scenario) -> std::io::Result<()> {
        let code = scenario.precompiled().map_err(std::io::Error::other)?;
        std::fs::create_dir_all(&self.dir)?;
        let mut partial = OsString::from(entry.as_os_str());
        partial.push(format!(".{}.partial", std::process::id()));
        std::fs::write(&partial, code)?;
        std::fs::rename(&partial, entry)?;
        self.trim();
        Ok(())
    }

    /// Deletes the least recently used entries beyond [`KEPT_ENTRIES`].
    fn trim(&self) {
        let Ok(read_dir) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = read_dir
            .flatten()
            .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "code"))
            .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
            .collect();
        if entries.len() <= KEPT_ENTRIES {
            return;
        }
        entries.sort();
        for (_, path) in &entries[..entries.len() - KEPT_ENTRIES] {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Marks an entry as just used, for [`CodeCache::trim`].
fn touch(entry: &Path) {
    if let Ok(file) = std::fs::File::options().append(true).open(entry) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use volley_runtime::engine::VuLimits;
    use volley_runtime::shape::ComponentShape;

    fn engine() -> VolleyEngine {
        VolleyEngine::new(2, VuLimits::default(), &ComponentShape::GENEROUS).unwrap()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("volley-code-cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn stores_then_loads_and_recovers_from_damage() {
        let dir = temp_dir("roundtrip");
        let cache = CodeCache::new(&dir);
        let engine = engine();
        let bytes = std::fs::read(volley_example_artifacts::HELLO).unwrap();

        let compiled = cache.compile(&engine, &bytes).unwrap();
        let entry = cache.entry(&engine, &bytes);
        assert!(entry.is_file(), "no entry at {}", entry.display());
        let loaded = cache.compile(&engine, &bytes).unwrap();
        assert_eq!(loaded.sha256(), compiled.sha256());
        assert_eq!(loaded.exports(), compiled.exports());

        // A damaged entry is compiled again and replaced.
        std::fs::write(&entry, b"not code").unwrap();
        let recompiled = cache.compile(&engine, &bytes).unwrap();
        assert_eq!(recompiled.sha256(), compiled.sha256());
        assert!(std::fs::read(&entry).unwrap().len() > 1000);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_folder_costs_only_the_compile() {
        let dir = temp_dir("unwritable");
        // A file where the folder should be.
        std::fs::write(&dir, b"").unwrap();
        let cache = CodeCache::new(&dir);
        let bytes = std::fs::read(volley_example_artifacts::HELLO).unwrap();
        assert!(cache.compile(&engine(), &bytes).is_ok());
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn keeps_the_most_recent_entries() {
        let dir = temp_dir("trim");
        std::fs::create_dir_all(&dir).unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(3600);
        for n in 0..KEPT_ENTRIES + 3 {
            let path = dir.join(format!("{n:02}.code"));
            std::fs::write(&path, b"x").unwrap();
            let file = std::fs::File::options().append(true).open(&path).unwrap();
            file.set_modified(old + Duration::from_secs(n as u64))
                .unwrap();
        }
        CodeCache::new(&dir).trim();
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left.len(), KEPT_ENTRIES);
        assert_eq!(left[0], "03.code", "the three oldest are gone");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
