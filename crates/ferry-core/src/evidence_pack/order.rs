//! Which line of `facts.jsonl` is which fact of the manifest: the lines
//! matched by their digests, then an edited fact recognised by its key (or
//! its place), and what is left missing, unknown, repeated or out of order.

use std::collections::HashMap;

/// A line of `facts.jsonl` as the alignment sees it.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// The SHA-256 of the line.
    pub digest: String,
    /// Its `key`, when the line is a JSON object that has one.
    pub key: Option<String>,
}

/// How the lines found stand to the facts expected (all indexes from 0).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Alignment {
    /// (line, fact): the line is that fact, edited.
    pub edited: Vec<(usize, usize)>,
    /// Facts no line holds.
    pub missing: Vec<usize>,
    /// Lines that are no fact of the manifest.
    pub unknown: Vec<usize>,
    /// (line, fact): the line repeats a fact found on an earlier line.
    pub repeated: Vec<(usize, usize)>,
    /// Groups of facts each found where another of the group should be:
    /// two swapped facts, or those a moved fact was moved across.
    pub out_of_order: Vec<Vec<usize>>,
}

/// Aligns the lines found with the facts expected, each given by its
/// digest and key.
pub(crate) fn align(expected: &[(&str, &str)], found: &[Line]) -> Alignment {
    let mut by_digest: HashMap<&str, Vec<usize>> = HashMap::new();
    for (fact, (digest, _)) in expected.iter().enumerate().rev() {
        by_digest.entry(digest).or_default().push(fact);
    }
    let mut alignment = Alignment::default();
    // The fact each line holds, where known.
    let mut holds: Vec<Option<usize>> = vec![None; found.len()];
    let mut taken = vec![false; expected.len()];
    for (index, line) in found.iter().enumerate() {
        let Some(facts) = by_digest.get_mut(line.digest.as_str()) else {
            continue;
        };
        match facts.pop() {
            Some(fact) => {
                holds[index] = Some(fact);
                taken[fact] = true;
            }
            None => {
                let fact = expected
                    .iter()
                    .position(|(digest, _)| *digest == line.digest)
                    .unwrap_or_default();
                alignment.repeated.push((index, fact));
            }
        }
    }
    let repeated: Vec<usize> = alignment.repeated.iter().map(|(line, _)| *line).collect();
    let unmatched: Vec<usize> = (0..found.len())
        .filter(|index| holds[*index].is_none() && !repeated.contains(index))
        .collect();
    // An edited fact keeps its key, unless the key was what changed; then
    // a line in the place of a fact no line holds is that fact.
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    for (fact, (_, key)) in expected.iter().enumerate() {
        if !taken[fact] {
            by_key.entry(key).or_insert(fact);
        }
    }
    let mut left = Vec::new();
    for index in unmatched {
        let fact = found[index]
            .key
            .as_deref()
            .and_then(|key| by_key.get(key).copied())
            .filter(|fact| !taken[*fact]);
        match fact {
            Some(fact) => {
                taken[fact] = true;
                holds[index] = Some(fact);
                alignment.edited.push((index, fact));
            }
            None => left.push(index),
        }
    }
    for index in left {
        if index < expected.len() && !taken[index] {
            taken[index] = true;
            holds[index] = Some(index);
            alignment.edited.push((index, index));
        } else {
            alignment.unknown.push(index);
        }
    }
    alignment.edited.sort_unstable();
    alignment.missing = (0..expected.len()).filter(|fact| !taken[*fact]).collect();
    alignment.out_of_order = cycles(&holds.into_iter().flatten().collect::<Vec<_>>());
    alignment
}

/// The facts out of their place in `order` (each once), grouped by the
/// cycles of the permutation that sorts them: a group's facts are each
/// found where another of them should be.
fn cycles(order: &[usize]) -> Vec<Vec<usize>> {
    let mut sorted = order.to_vec();
    sorted.sort_unstable();
    let position: HashMap<usize, usize> = order
        .iter()
        .enumerate()
        .map(|(place, fact)| (*fact, place))
        .collect();
    let mut seen = vec![false; order.len()];
    let mut groups = Vec::new();
    for start in 0..order.len() {
        if seen[start] || order[start] == sorted[start] {
            continue;
        }
        let mut group = Vec::new();
        let mut place = start;
        while !seen[place] {
            seen[place] = true;
            group.push(order[place]);
            // The fact that belongs here is found at `next`.
            match position.get(&sorted[place]) {
                Some(&next) => place = next,
                None => break,
            }
        }
        group.sort_unstable();
        groups.push(group);
    }
    groups.sort();
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Facts `a`, `b`, … each with its letter as digest and key.
    fn expected(n: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| {
                let letter = char::from(b'a' + i as u8).to_string();
                (letter.clone(), letter)
            })
            .collect()
    }

    fn lines(found: &[&str]) -> Vec<Line> {
        found
            .iter()
            .map(|text| Line {
                digest: (*text).to_owned(),
                // An edited line is written `X'`: its key is still `X`.
                key: Some(text.trim_end_matches('\'').to_owned()),
            })
            .collect()
    }

    fn run(n: usize, found: &[&str]) -> Alignment {
        let facts = expected(n);
        let facts: Vec<(&str, &str)> = facts
            .iter()
            .map(|(d, k)| (d.as_str(), k.as_str()))
            .collect();
        align(&facts, &lines(found))
    }

    #[test]
    fn an_intact_order_has_no_problem() {
        assert_eq!(run(4, &["a", "b", "c", "d"]), Alignment::default());
        assert_eq!(run(0, &[]), Alignment::default());
    }

    #[test]
    fn an_edit_is_found_by_its_key_even_when_moved() {
        let found = run(4, &["a", "b'", "c", "d"]);
        assert_eq!(found.edited, [(1, 1)]);
        assert!(found.missing.is_empty() && found.out_of_order.is_empty());
        let moved = run(4, &["a", "c", "d", "b'"]);
        assert_eq!(moved.edited, [(3, 1)]);
        assert_eq!(moved.out_of_order, [vec![1, 2, 3]]);
    }

    #[test]
    fn a_line_without_a_known_key_in_a_fact_s_place_is_that_fact_edited() {
        let mut found = lines(&["a", "x", "c"]);
        found[1].key = None;
        let facts = [("a", "a"), ("b", "b"), ("c", "c")];
        let alignment = align(&facts, &found);
        assert_eq!(alignment.edited, [(1, 1)]);
        // An extra line where no fact is missing is unknown.
        let found = lines(&["a", "b", "c", "x"]);
        let alignment = align(&facts, &found);
        assert_eq!(alignment.unknown, [3]);
    }

    #[test]
    fn a_deletion_is_missing_and_moves_nothing_out_of_order() {
        let found = run(5, &["a", "b", "d", "e"]);
        assert_eq!(found.missing, [2]);
        assert!(found.out_of_order.is_empty(), "{found:?}");
    }

    #[test]
    fn swapped_facts_are_named_together() {
        assert_eq!(
            run(6, &["a", "b", "e", "d", "c", "f"]).out_of_order,
            [vec![2, 4]]
        );
        assert_eq!(run(3, &["b", "a", "c"]).out_of_order, [vec![0, 1]]);
        // Two separate swaps are two problems.
        assert_eq!(
            run(5, &["b", "a", "c", "e", "d"]).out_of_order,
            [vec![0, 1], vec![3, 4]]
        );
        // A swap after a deletion still names only the swapped two.
        let found = run(6, &["a", "c", "b", "e", "f"]);
        assert_eq!(found.missing, [3]);
        assert_eq!(found.out_of_order, [vec![1, 2]]);
    }

    #[test]
    fn a_repeated_fact_is_named() {
        let found = run(3, &["a", "b", "b", "c"]);
        assert_eq!(found.repeated, [(2, 1)]);
        assert!(found.unknown.is_empty() && found.missing.is_empty());
    }
}
