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
        let group = self.group_path();
        let metrics = self.run().metrics().clone();
        let tags =
            self.check_tags()
                .get_or_insert_with((group, name, tags), |(group, name, tags)| {
                    // The first use of this check on this VU: note it for the summary's order.
                    metrics.note_check(group.as_deref().unwrap_or_default(), name);
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
