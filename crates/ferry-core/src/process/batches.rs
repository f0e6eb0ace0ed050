//! The orchestrator's pure decisions about a deployment's targets: which
//! agents are targets, the batches they are split into, where a person
//! must continue, and when a deployment halts.

use std::collections::BTreeMap;

use super::Strategy;

/// The batches of a deployment over `targets` (agent names, sorted by the
/// caller), in order:
///
/// - [`Strategy::All`]: one batch of every target.
/// - [`Strategy::Rolling`]: consecutive batches of the batch size (a
///   percentage of the total, rounded up; at least 1), the last one smaller
///   when the size does not divide the total.
/// - [`Strategy::Canary`]: stage *i* covers up to its size of the total,
///   counting the stages before it: stages `[1, "25%", "100%"]` over 8
///   targets give batches of 1, 1 and 6. A stage that covers no more than
///   those before it adds no batch.
///
/// The batches partition `targets` in order: none is empty, the last always
/// completes the set, and no target is in two. No targets, no batches.
pub fn plan_batches(strategy: &Strategy, targets: &[String]) -> Vec<Vec<String>> {
    let total = targets.len();
    let ends: Vec<usize> = batch_ends(strategy, total)
        .into_iter()
        .map(|(end, _)| end)
        .collect();
    let mut start = 0;
    ends.into_iter()
        .map(|end| {
            let batch = targets[start..end].to_vec();
            start = end;
            batch
        })
        .collect()
}

/// Whether an agent's tags satisfy a selector: every `key = value` of the
/// selector is among the tags. An empty selector selects every agent.
pub fn selects(selector: &BTreeMap<String, String>, tags: &BTreeMap<String, String>) -> bool {
    selector
        .iter()
        .all(|(key, value)| tags.get(key) == Some(value))
}

/// Where each batch of `total` targets ends, and whether a person must
/// continue the deployment after it (a canary stage with `pause =
/// "manual"`; a stage that adds no target passes its pause to the batch
/// before it). The last batch ends at `total` and never pauses.
fn batch_ends(strategy: &Strategy, total: usize) -> Vec<(usize, bool)> {
    let mut ends: Vec<(usize, bool)> = Vec::new();
    match strategy {
        Strategy::All => {}
        Strategy::Rolling { batch, .. } => {
            let size = batch.of(total).max(1);
            ends.extend((size..total).step_by(size).map(|end| (end, false)));
        }
        Strategy::Canary { stages, manual, .. } => {
            for (index, stage) in stages.iter().enumerate() {
                let end = stage.of(total).min(total);
                let pause = manual.contains(&index);
                match ends.last_mut() {
                    Some(last) if end <= last.0 => last.1 |= pause,
                    _ if end == 0 => {}
                    _ => ends.push((end, pause)),
                }
            }
        }
    }
    if total > ends.last().map_or(0, |last| last.0) {
        ends.push((total, false));
    }
    if let Some(last) = ends.last_mut() {
        last.1 = false;
    }
    ends
}

/// Whether a person must continue a deployment of `total` targets after
/// its batch `batch` (counted from 0) before the next one starts.
pub fn pauses_after_batch(strategy: &Strategy, total: usize, batch: usize) -> bool {
    batch_ends(strategy, total)
        .get(batch)
        .is_some_and(|(_, pause)| *pause)
}

/// The halt-or-continue decision after a batch: halt once more targets have
/// `failed` (so far, over all batches) than are tolerated.
pub fn should_halt(failed: u32, tolerate: u32) -> bool {
    failed > tolerate
}
