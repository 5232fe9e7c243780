//! `volley:scenario/group`: k6's groups. While groups are open, a VU's samples
//! carry the tag `group` with their path ("::outer::inner"); leaving one
//! records its `group_duration`.

use std::sync::Arc;
use std::time::Instant;

use super::volley::scenario::group::Host;
use crate::metrics::{Sample, TagSet, builtin};
use crate::vu::VuState;

/// How deep groups may nest.
pub const MAX_DEPTH: usize = 16;

/// An open group.
pub(crate) struct OpenGroup {
    /// "::outer::inner".
    pub(crate) path: Arc<str>,
    /// The VU's tags with `group` set to `path`.
    pub(crate) tags: TagSet,
    started: Instant,
}

/// Why a group call was refused (the guest traps).
#[derive(Debug, thiserror::Error)]
enum GroupError {
    #[error("group name {0:?} contains \"::\", which separates the names in a group's path")]
    Separator(String),
    #[error("more than {MAX_DEPTH} groups are open; is `leave` missing?")]
    TooDeep,
    #[error("`leave` was called with no group open")]
    NoneOpen,
}

impl Host for VuState {
    async fn enter(&mut self, name: String) -> wasmtime::Result<()> {
        if name.contains("::") {
            return Err(GroupError::Separator(name).into());
        }
        if self.groups().len() >= MAX_DEPTH {
            return Err(GroupError::TooDeep.into());
        }
        let path: Arc<str> = match self.groups().last() {
            Some(outer) => format!("{}::{name}", outer.path).into(),
            None => format!("::{name}").into(),
        };
        self.note_group(&path);
        let tags = self.identity().tags.with([("group", &*path)]);
        self.groups_mut().push(OpenGroup {
            path,
            tags,
            started: Instant::now(),
        });
        Ok(())
    }

    async fn leave(&mut self) -> wasmtime::Result<()> {
        let group = self.groups_mut().pop().ok_or(GroupError::NoneOpen)?;
        self.record(&[Sample {
            metric: builtin::GROUP_DURATION,
            tags: group.tags,
            value: group.started.elapsed().as_secs_f64() * 1000.0,
        }]);
        Ok(())
    }
}
