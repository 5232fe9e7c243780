//! `volley:scenario/checks`: named assertions, counted in the `checks` rate.

use super::volley::scenario::checks::Host;
use crate::metrics::{Sample, builtin};
use crate::vu::VuState;

impl Host for VuState {
    async fn check(
        &mut self,
        name: String,
        ok: bool,
        tags: Vec<(String, String)>,
    ) -> wasmtime::Result<bool> {
        let base = self.tags();
        let key = (self.group_path(), name, tags);
        let tags = self.check_tags(key, |(_, name, tags)| {
            base.with(
                tags.iter()
                    .cloned()
                    .chain([("check".to_owned(), name.clone())]),
            )
        });
        self.record(&[Sample {
            metric: builtin::CHECKS,
            tags,
            value: if ok { 1.0 } else { 0.0 },
        }]);
        Ok(ok)
    }
}
