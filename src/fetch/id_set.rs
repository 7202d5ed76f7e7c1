//! Sets of incident ids as the fetch cursor and the mirroring state keep them in JSON. Numbers
//! are written as ranges ("101-150,160"): Defender numbers incidents in creation order, so ids
//! kept together are mostly consecutive and the text stays short. Microsoft Graph's text ids
//! have no order to compress; they are kept beside the ranges as a list of strings, under a key
//! of their own, so that what is written for numeric ids is exactly what earlier versions wrote
//! and read (and a cursor with text ids still reads in a version that knows none).

use serde_json::Value;

use crate::api::IncidentId;

/// Incident ids, numbers and text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdSet {
    /// Sorted.
    numbers: Vec<u64>,
    /// In the order they were added: text ids have no age of their own, so this order is what
    /// [`IdSet::keep_newest`] goes by.
    texts: Vec<String>,
}

impl IdSet {
    /// The numbers written as ranges ("1-3,7,9-10").
    pub fn from_ranges(text: &str) -> Option<IdSet> {
        Some(IdSet {
            numbers: parse_id_ranges(text)?,
            texts: Vec::new(),
        })
    }

    pub fn contains(&self, id: &IncidentId) -> bool {
        match id {
            IncidentId::Number(number) => self.numbers.binary_search(number).is_ok(),
            IncidentId::Text(text) => self.texts.contains(text),
        }
    }

    pub fn insert(&mut self, id: IncidentId) {
        match id {
            IncidentId::Number(number) => {
                if let Err(position) = self.numbers.binary_search(&number) {
                    self.numbers.insert(position, number);
                }
            }
            IncidentId::Text(text) => {
                if !self.texts.contains(&text) {
                    self.texts.push(text);
                }
            }
        }
    }

    pub fn remove(&mut self, id: &IncidentId) {
        match id {
            IncidentId::Number(number) => {
                if let Ok(position) = self.numbers.binary_search(number) {
                    self.numbers.remove(position);
                }
            }
            IncidentId::Text(text) => self.texts.retain(|kept| kept != text),
        }
    }

    /// Adds the text ids of a JSON list of strings, as [`IdSet::texts_json`] writes it; none
    /// (and nothing added) when `list` is not one.
    pub fn add_texts(&mut self, list: &Value) -> Option<()> {
        let ids = list
            .as_array()?
            .iter()
            .map(|item| IncidentId::from_text(item.as_str()?))
            .collect::<Option<Vec<_>>>()?;
        ids.into_iter().for_each(|id| self.insert(id));
        Some(())
    }

    /// Keeps the `limit` highest numbers and the `limit` texts added last.
    pub fn keep_newest(&mut self, limit: usize) {
        let numbers_over = self.numbers.len().saturating_sub(limit);
        let texts_over = self.texts.len().saturating_sub(limit);
        self.numbers.drain(..numbers_over);
        self.texts.drain(..texts_over);
    }

    pub fn len(&self) -> usize {
        self.numbers.len() + self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn has_numbers(&self) -> bool {
        !self.numbers.is_empty()
    }

    pub fn has_texts(&self) -> bool {
        !self.texts.is_empty()
    }

    /// The numbers as ranges: "1-3,7,9-10".
    pub fn ranges(&self) -> String {
        format_id_ranges(&self.numbers)
    }

    /// The text ids as a JSON list, oldest first.
    pub fn texts_json(&self) -> Value {
        Value::from(self.texts.clone())
    }

    /// The text ids, oldest first.
    pub fn texts(&self) -> &[String] {
        &self.texts
    }
}

/// Sorted ids as "1-3,7,9-10".
fn format_id_ranges(ids: &[u64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut index = 0;
    while index < ids.len() {
        let first = ids[index];
        let mut last = first;
        while index + 1 < ids.len() && ids[index + 1] == last + 1 {
            index += 1;
            last = ids[index];
        }
        parts.push(if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        });
        index += 1;
    }
    parts.join(",")
}

/// "1-3,7,9-10" as sorted ids.
fn parse_id_ranges(text: &str) -> Option<Vec<u64>> {
    let mut ids = Vec::new();
    for part in text.split(',').filter(|part| !part.is_empty()) {
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (first.parse::<u64>().ok()?, last.parse::<u64>().ok()?);
                if last < first || last - first > 1_000_000 {
                    return None;
                }
                ids.extend(first..=last);
            }
            None => ids.push(part.parse().ok()?),
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Some(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(id: &str) -> IncidentId {
        IncidentId::Text(id.to_owned())
    }

    #[test]
    fn numbers_are_ranges_and_texts_a_list() {
        let mut ids = IdSet::default();
        for number in [7, 1, 2, 3, 10, 9, 2] {
            ids.insert(IncidentId::Number(number));
        }
        ids.insert(text("ed-4c2a/7"));
        ids.insert(text("a,b-c"));
        ids.insert(text("ed-4c2a/7"));
        assert_eq!(ids.ranges(), "1-3,7,9-10");
        assert_eq!(ids.texts_json(), json!(["ed-4c2a/7", "a,b-c"]));
        assert_eq!(ids.len(), 8);
        let mut read = IdSet::from_ranges(&ids.ranges()).unwrap();
        read.add_texts(&ids.texts_json()).unwrap();
        assert_eq!(read, ids);
        assert!(read.contains(&text("a,b-c")) && read.contains(&IncidentId::Number(9)));
        assert!(!read.contains(&text("a")) && !read.contains(&IncidentId::Number(4)));
    }

    #[test]
    fn digits_in_the_text_list_are_numbers() {
        let mut ids = IdSet::default();
        ids.add_texts(&json!(["12", "x"])).unwrap();
        assert!(ids.contains(&IncidentId::Number(12)));
        assert_eq!(ids.ranges(), "12");
        assert_eq!(ids.texts_json(), json!(["x"]));
    }

    #[test]
    fn refuses_what_is_not_a_set() {
        for bad in ["9-x", "5-3", "1-2000000", "a"] {
            assert_eq!(IdSet::from_ranges(bad), None, "{bad}");
        }
        assert_eq!(IdSet::from_ranges(""), Some(IdSet::default()));
        let mut ids = IdSet::default();
        for bad in [json!("x"), json!([1]), json!([""]), json!({"a": "b"})] {
            assert_eq!(ids.add_texts(&bad), None, "{bad}");
        }
        assert!(ids.is_empty());
    }

    #[test]
    fn removes_and_keeps_the_newest() {
        let mut ids = IdSet::default();
        for number in 1..=5 {
            ids.insert(IncidentId::Number(number));
        }
        for name in ["a", "b", "c", "d"] {
            ids.insert(text(name));
        }
        ids.remove(&IncidentId::Number(5));
        ids.remove(&text("b"));
        ids.keep_newest(2);
        assert_eq!(ids.ranges(), "3-4");
        assert_eq!(ids.texts_json(), json!(["c", "d"]));
        ids.keep_newest(2);
        assert_eq!(ids.len(), 4);
    }
}
