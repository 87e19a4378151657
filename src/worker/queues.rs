//! Which queue a worker takes from next: `-Q high,default` is strict (the
//! first non-empty queue in order), `-Q high:6,default:3` weighted (a queue
//! picked at random in proportion to its weight, skipping empty ones).

use std::borrow::Cow;

use crate::names::QueueName;

/// The queues a worker serves and how it picks among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueSelection {
    Strict(Vec<QueueName>),
    Weighted(Vec<(QueueName, u32)>),
}

impl QueueSelection {
    /// Parses a `-Q` value.
    pub fn parse(text: &str) -> Result<QueueSelection, String> {
        let bad = |why: String| why;
        let mut strict = Vec::new();
        let mut weighted = Vec::new();
        for part in text.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(bad("an empty queue name".into()));
            }
            match part.split_once(':') {
                Some((name, weight)) => {
                    let queue = QueueName::new(name).map_err(bad)?;
                    let weight = weight.parse::<u32>().ok().filter(|w| *w > 0).ok_or_else(|| {
                        bad(format!("weight \"{weight}\" of \"{name}\" must be a whole number above 0"))
                    })?;
                    weighted.push((queue, weight));
                }
                None => strict.push(QueueName::new(part).map_err(bad)?),
            }
        }
        match (strict.is_empty(), weighted.is_empty()) {
            (false, false) => Err(bad("give every queue a weight (high:6,low:1) or none (high,low)".into())),
            (true, false) => Ok(QueueSelection::Weighted(weighted)),
            _ => Ok(QueueSelection::Strict(strict)),
        }
    }

    /// The queues without `-Q`: equal weights, so that no queue of the
    /// config waits on another (strict order by name would have a busy
    /// `bulk` starve `critical`).
    pub fn equal(queues: Vec<QueueName>) -> QueueSelection {
        QueueSelection::Weighted(queues.into_iter().map(|q| (q, 1)).collect())
    }

    /// Every queue served.
    pub fn all(&self) -> Vec<QueueName> {
        match self {
            QueueSelection::Strict(q) => q.clone(),
            QueueSelection::Weighted(w) => w.iter().map(|(q, _)| q.clone()).collect(),
        }
    }

    /// The order to try the queues in for the next fetch. Asked for every
    /// job: a strict order or a single queue is lent, not copied.
    pub fn order(&self) -> Cow<'_, [QueueName]> {
        match self {
            QueueSelection::Strict(q) => Cow::Borrowed(q),
            QueueSelection::Weighted(w) if w.len() == 1 => Cow::Borrowed(std::slice::from_ref(&w[0].0)),
            QueueSelection::Weighted(w) => {
                // A weighted shuffle: each position drawn in proportion to the
                // weights of the queues not yet placed.
                let mut left: Vec<&(QueueName, u32)> = w.iter().collect();
                let mut out = Vec::with_capacity(left.len());
                while !left.is_empty() {
                    let total: u64 = left.iter().map(|(_, w)| u64::from(*w)).sum();
                    let mut pick = rand::random_range(0..total);
                    let i = left
                        .iter()
                        .position(|(_, w)| {
                            if pick < u64::from(*w) {
                                true
                            } else {
                                pick -= u64::from(*w);
                                false
                            }
                        })
                        .unwrap_or(0);
                    out.push(left.remove(i).0.clone());
                }
                Cow::Owned(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(q: &[QueueName]) -> Vec<&str> {
        q.iter().map(crate::names::QueueName::as_str).collect()
    }

    #[test]
    fn strict_keeps_order() {
        let s = QueueSelection::parse("high, default").unwrap();
        assert_eq!(names(&s.order()), ["high", "default"]);
    }

    #[test]
    fn weighted_picks_in_proportion() {
        let s = QueueSelection::parse("high:6,default:3,low:1").unwrap();
        let mut firsts = std::collections::HashMap::new();
        for _ in 0..10_000 {
            let order = s.order();
            assert_eq!(order.len(), 3);
            *firsts.entry(order[0].to_string()).or_insert(0) += 1;
        }
        let high = firsts["high"];
        assert!((5_400..6_600).contains(&high), "high first {high} times of 10000");
        assert!((2_400..3_600).contains(&firsts["default"]));
    }

    #[test]
    fn bad_values_are_explained() {
        assert!(QueueSelection::parse("a:1,b").unwrap_err().contains("give every queue a weight"));
        assert!(QueueSelection::parse("a:0").unwrap_err().contains("above 0"));
        assert!(QueueSelection::parse("a,,b").unwrap_err().contains("empty queue name"));
    }
}
