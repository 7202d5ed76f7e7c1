//! The first run on a large backlog: finding where it begins, so that the first run already
//! emits `max_fetch` incidents.
//!
//! Forward reads find the oldest incidents by narrowing a `createdTime` window from the newest
//! page down; deep in a backlog of thousands that takes more requests than one run's bound, so
//! the first runs would emit nothing. A first run (a cursor that has not yet seen an incident)
//! may make up to [`FIRST_RUN_REQUESTS`] list requests, and when its first read finds a full
//! page it searches by offset instead:
//!
//! - It reads `[start, stable_end)`, where `stable_end` is the newest `createdTime` read less the
//!   look-back. Every incident created there was visible at the first read and nothing new can
//!   appear there, so an incident's offset in that range (newest first) stays the same for the
//!   whole run.
//! - A read at `$skip` = k that returns a full page says the range holds more than k + a page,
//!   and how old the incident at that offset is; an empty one says it holds at most k. The next
//!   offset is the count the density of the incidents read so far predicts for the range (aimed
//!   low at first, so that a full page measures the density over most of it). A stretch without
//!   incidents after `first_fetch` makes that prediction too high: after an empty read the
//!   search steps down by distances growing fourfold (by the square root of the bounds' ratio
//!   when the prediction is off by a factor), and once a full page lies below an empty read it
//!   bisects between them.
//! - A page that is neither full nor empty holds the oldest incidents of the range: they are
//!   emitted, and the pages at smaller offsets, read next, are the next oldest, until
//!   `max_fetch` are emitted. Forward reads continue from the last one emitted, with a window
//!   sized by the density found.
//!
//! The search keeps back the requests a run would make anyway: if it has not found the oldest
//! incidents when only those are left, the run goes on with the forward reads it would have
//! made without searching, from the window the first page suggested, and later runs continue
//! from there as usual.

use jiff::{SignedDuration, Timestamp};

#[cfg(doc)]
use super::FIRST_RUN_REQUESTS;
use super::reads::{CreatedRange, FetchSource};
use super::{MAX_WINDOW, Read, Run, TARGET_FILL_PERCENT};
use crate::api::{ApiError, IncidentId};
use crate::time;

/// What the search knows about the number of incidents in the stable range.
struct Search {
    /// The range holds at least this many.
    low: usize,
    /// The range holds at most this many, once an empty read has shown it.
    high: Option<usize>,
    /// The deepest offset whose incident is known, and its `createdTime`.
    deepest: Option<(usize, Timestamp)>,
    /// Whether `deepest` came from an offset read (not only from the first page).
    measured: bool,
    /// Incidents per nanosecond, as read so far.
    density: f64,
    /// Empty reads in a row.
    empty_reads: u32,
    /// Whether a full page was read below an empty read: the count lies between the two.
    bracketed: bool,
}

impl Search {
    /// The number of incidents in `[start, …)` the density predicts.
    fn estimate(&self, start: Timestamp, stable_end: Timestamp) -> usize {
        let (known, from) = match self.deepest {
            Some((offset, created)) => (offset + 1, created),
            None => (0, stable_end),
        };
        let nanos = from.duration_since(start).as_nanos().max(0) as f64;
        // Far beyond any backlog an API could page through; only keeps the cast in range.
        (known as f64 + self.density * nanos).min(1e15) as usize
    }

    /// The offset to read next. `page` is at least 2.
    fn next_skip(&self, estimate: usize, page: usize) -> usize {
        if let Some(high) = self.high {
            // A read at this offset holds the oldest incidents whatever their number.
            if high.saturating_sub(self.low) <= page - 2 {
                return (high + 1).saturating_sub(page - 1);
            }
        }
        let mut skip = if self.measured {
            estimate.saturating_sub(page / 2)
        } else {
            estimate / 4 * 3
        };
        if let Some(high) = self.high {
            let floor = self.low.max(page);
            skip = if high / 4 > floor {
                // The estimate is off by a factor: find the order of the count first.
                skip.min(((floor as f64) * (high as f64)).sqrt() as usize)
            } else {
                let middle = ((self.low + high) / 2).saturating_sub(page / 2);
                if self.bracketed {
                    middle
                } else {
                    // Probably just past the count: step down by growing distances, as far as
                    // the middle.
                    let step = page << (2 * self.empty_reads.saturating_sub(1)).min(40);
                    skip.min(high.saturating_sub(step).max(middle))
                }
            };
            skip = skip.min(high - 1);
        }
        skip.max(self.low.saturating_sub(page / 2))
    }
}

/// Incidents per nanosecond over a page's `createdTime`s.
fn page_density(times: impl Iterator<Item = Timestamp> + Clone) -> f64 {
    let count = times.clone().count();
    let (Some(oldest), Some(newest)) = (times.clone().min(), times.max()) else {
        return 0.0;
    };
    let span = newest.duration_since(oldest).max(time::TICK).as_nanos() as f64;
    count.saturating_sub(1).max(1) as f64 / span
}

impl<S: FetchSource> Run<'_, S> {
    /// After a full first page from `start`: searches the backlog's oldest incidents by offset
    /// and emits them, oldest first. `first` is that page.
    pub(super) async fn locate(
        &mut self,
        first: &[(Timestamp, IncidentId, S::Item)],
    ) -> Result<(), ApiError> {
        let (start, Some(newest)) = (self.cursor.start, self.cursor.newest) else {
            return Ok(());
        };
        let page = self.page_size;
        let stable_end = time::whole_ticks(time::earlier(
            newest,
            self.limits.lookback.max(SignedDuration::ZERO),
        ));
        if stable_end <= start || page < 2 {
            return Ok(());
        }
        let range = CreatedRange {
            from: start,
            to: Some(stable_end),
        };
        // The first page's incidents before `stable_end` are the range's first offsets. (More
        // may follow them, but a legacy page of exactly 100 says "more" without a next link,
        // so the count is only known to be at least theirs.)
        let in_range: Vec<Timestamp> = first
            .iter()
            .map(|(created, ..)| *created)
            .filter(|created| *created < stable_end)
            .collect();
        let mut search = Search {
            low: in_range.len(),
            high: None,
            deepest: in_range
                .iter()
                .min()
                .map(|oldest| (in_range.len() - 1, *oldest)),
            measured: false,
            density: page_density(first.iter().map(|(created, ..)| *created)),
            empty_reads: 0,
            bracketed: false,
        };
        // Requests kept back for forward reads, which go on from the first page if the search
        // does not end in time: such a run does what it would have done without searching.
        let reserve = self.limits.request_budget().saturating_sub(1);
        while self.requests + reserve < self.budget {
            let skip = search.next_skip(search.estimate(start, stable_end), page);
            let Some(Read { items, more }) = self.read(range, skip).await? else {
                return Ok(());
            };
            if more {
                let oldest = items.iter().map(|(created, ..)| *created).min();
                search.low = search.low.max(skip + items.len());
                if let Some(oldest) = oldest {
                    let offset = skip + items.len() - 1;
                    search.deepest = Some((offset, oldest));
                    search.measured = true;
                    let span = stable_end.duration_since(oldest).max(time::TICK);
                    search.density = (offset + 1) as f64 / span.as_nanos() as f64;
                }
                search.bracketed = search.high.is_some();
                search.empty_reads = 0;
            } else if items.is_empty() {
                if skip == 0 {
                    // Nothing in the range after all: forward reads go on from the first page.
                    return Ok(());
                }
                search.high = Some(skip);
                search.empty_reads += 1;
            } else {
                return self.climb(range, skip, items, search.density).await;
            }
            if search.high.is_some_and(|high| high < search.low) {
                // The range changed under the search, which it cannot for a service that
                // keeps its promises: leave it to forward reads.
                return Ok(());
            }
        }
        Ok(())
    }

    /// Emits the oldest incidents of `range`, read at offset `skip`, then the pages at smaller
    /// offsets, as many as the run may; moves `start` past what was emitted.
    async fn climb(
        &mut self,
        range: CreatedRange,
        mut skip: usize,
        mut items: Vec<(Timestamp, IncidentId, S::Item)>,
        density: f64,
    ) -> Result<(), ApiError> {
        let from = self.cursor.start;
        let stable_end = range.to.unwrap_or(from);
        self.cursor.window = Some(window_for(density, self.page_size));
        self.cursor.ahead = None;
        loop {
            let newest_read = items.iter().map(|(created, ..)| *created).max();
            let (all, last) = self.emit(items);
            // Everything created before the newest incident of offsets `skip` and above was
            // among them; when `skip` is 0, everything in the range.
            let next = match (all, skip) {
                (true, 0) => Some(stable_end),
                (true, _) => newest_read,
                (false, _) => last,
            };
            self.cursor.start = self.cursor.start.max(next.unwrap_or(from));
            self.settle_forward(from, self.cursor.start);
            if !all || skip == 0 || self.requests >= self.budget {
                return Ok(());
            }
            let up = skip.saturating_sub(self.page_size);
            let Some(read) = self.read(range, up).await? else {
                return Ok(());
            };
            if up + read.items.len() < skip {
                // A short page left a gap: forward reads go on from what was emitted.
                return Ok(());
            }
            (skip, items) = (up, read.items);
        }
    }
}

/// A forward window expected to hold [`TARGET_FILL_PERCENT`] of a page at `density`.
fn window_for(density: f64, page: usize) -> SignedDuration {
    let wanted = (page * TARGET_FILL_PERCENT / 100).max(1) as f64;
    let nanos = if density > 0.0 {
        (wanted / density).min(MAX_WINDOW.as_nanos() as f64)
    } else {
        MAX_WINDOW.as_nanos() as f64
    };
    super::whole_ticks(SignedDuration::from_nanos(nanos as i64))
}
