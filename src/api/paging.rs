//! The bound on every paging loop: a service that announces more pages forever must not keep
//! a command reading until it is killed.

use std::collections::HashSet;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ApiError;
use super::client::ApiClient;

/// One page of an OData collection, on either API: its items and the link to the next page.
#[derive(Debug, Deserialize)]
pub struct ODataPage<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

impl<T> ODataPage<T> {
    /// Whether more items follow this page: the service linked to the next page, or the page is
    /// full (a service that pages by `$skip` gives no link).
    pub fn announces_more(&self, page_size: usize) -> bool {
        self.next_link.is_some() || self.value.len() >= page_size
    }
}

/// Query options, as name and value pairs in the order they are sent.
pub type QueryOptions = Vec<(String, String)>;

/// What a list holds, for the messages of its bound: `incidents`, and what narrows it.
#[derive(Debug, Clone, Copy)]
pub struct Items {
    pub noun: &'static str,
    /// What the user can do when paging did not end.
    pub advice: &'static str,
}

/// A list to read page by page, up to a limit.
pub struct Listing<'q> {
    /// The collection's path under the API base.
    pub path: &'static str,
    /// What it holds.
    pub items: Items,
    /// The query options of the first request.
    pub options: QueryOptions,
    /// The most items to read.
    pub limit: usize,
    /// The most items the service puts on a page.
    pub page_size: usize,
    /// The offset of the first request (its `$skip`).
    pub offset: usize,
    /// How to read on by `$skip` after a page that filled its `$top` but gave no next link: the
    /// options of that request, from the offset reached and how many items are still wanted.
    /// None where only next links lead on (Microsoft Graph, a user's own OData options).
    pub read_on: Option<&'q dyn Fn(usize, usize) -> QueryOptions>,
}

/// Reads `listing` page after page, handing each item to `take` (which returns its id) until
/// the limit is reached or the service says there is no more, within a [`PageBound`]. The
/// service's own link to the next page is the surest way on, even from an empty page, and is
/// followed only to the API's own origin ([`ApiClient::link`]). Returns how many items were
/// taken.
pub async fn read_list<T: DeserializeOwned>(
    client: &mut ApiClient<'_, '_>,
    listing: Listing<'_>,
    mut take: impl FnMut(T) -> Result<String, ApiError>,
) -> Result<usize, ApiError> {
    let Listing {
        path,
        items,
        mut options,
        limit,
        page_size,
        offset,
        read_on,
    } = listing;
    let mut taken = 0;
    if limit == 0 {
        return Ok(taken);
    }
    let mut bound = PageBound::for_limit(limit, page_size, items);
    let mut url = client.url(path)?;
    let mut skip = offset;
    loop {
        let requested = options
            .iter()
            .find(|(name, _)| name == "$top")
            .and_then(|(_, top)| top.parse::<usize>().ok());
        let page: ODataPage<T> = client.get_json(url, &options).await?;
        let received = page.value.len();
        let mut ids = Vec::new();
        for item in page.value.into_iter().take(limit - taken) {
            ids.push(take(item)?);
            taken += 1;
        }
        bound.read(&ids);
        if taken >= limit {
            break;
        }
        if let Some(link) = page.next_link {
            bound.next()?;
            url = client.link(&link)?;
            options.clear();
            continue;
        }
        let Some(read_on) = read_on else {
            break;
        };
        if received == 0 || requested.is_none_or(|top| received < top) {
            break;
        }
        bound.next()?;
        skip += received;
        url = client.url(path)?;
        options = read_on(skip, limit - taken);
    }
    Ok(taken)
}

/// Pages a list reads beyond the ⌈limit / page size⌉ its limit needs, for pages that come back
/// short while incidents change under the list.
pub const LIST_SLACK_PAGES: usize = 2;

/// The bound on one paging loop. A page says whether more follow (an `@odata.nextLink`, or a
/// full page when paging by `$skip`); a service that says so forever (empty pages that link on,
/// a link back to the same page, a `$skip` it ignores) must not keep a command reading until it
/// is killed: after `cap` pages, or after a page that holds nothing new, the loop ends with a
/// [`PagingError`] that names the bound (CONTRACT §8). The command's deadline bounds the loop
/// too, request by request.
#[derive(Debug)]
pub struct PageBound {
    cap: usize,
    /// Why the cap is what it is, for the message.
    cap_reason: String,
    /// What the pages hold and what the user can do, for the message.
    items: Items,
    pages: usize,
    /// The last page read held incidents, all of them read before.
    repeated: bool,
    seen: HashSet<String>,
}

impl PageBound {
    /// The bound of a list of at most `limit` incidents read `page_size` at a time:
    /// ⌈limit / page size⌉ + [`LIST_SLACK_PAGES`] pages.
    pub fn for_limit(limit: usize, page_size: usize, items: Items) -> PageBound {
        let needed = limit.div_ceil(page_size.max(1));
        let noun = items.noun;
        PageBound::new(
            needed.saturating_add(LIST_SLACK_PAGES),
            format!(
                "the cap for a limit of {limit} at {page_size} {noun} a page (⌈{limit}/{page_size}⌉ + {LIST_SLACK_PAGES})"
            ),
            items,
        )
    }

    /// A bound of `cap` pages of `items`, `cap_reason` saying why.
    pub fn new(cap: usize, cap_reason: String, items: Items) -> PageBound {
        PageBound {
            cap: cap.max(1),
            cap_reason,
            items,
            pages: 0,
            repeated: false,
            seen: HashSet::new(),
        }
    }

    /// Counts a page read, with the ids of its incidents.
    pub fn read<I: ToString>(&mut self, ids: impl IntoIterator<Item = I>) {
        self.pages += 1;
        let mut any = false;
        let mut new = false;
        for id in ids {
            any = true;
            new |= self.seen.insert(id.to_string());
        }
        self.repeated = any && !new;
    }

    /// Whether another page may be read after those counted, now that the last one announced
    /// more.
    pub fn next(&self) -> Result<(), PagingError> {
        if self.repeated {
            return Err(PagingError::Repeated {
                page: self.pages,
                noun: self.items.noun,
                advice: self.items.advice,
            });
        }
        if self.pages >= self.cap {
            return Err(PagingError::Capped {
                pages: self.pages,
                cap_reason: self.cap_reason.clone(),
                advice: self.items.advice,
            });
        }
        Ok(())
    }
}

/// Why a paging loop stopped before the service said it was done.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    #[error(
        "page after page announced more results, so listing stopped after {pages} pages, {cap_reason}; {advice}"
    )]
    Capped {
        pages: usize,
        cap_reason: String,
        advice: &'static str,
    },
    #[error(
        "page {page} held only {noun} already read and still announced more results (the service ignored `$skip`, or its next link led back to an earlier page), so listing stopped there; {advice}"
    )]
    Repeated {
        page: usize,
        noun: &'static str,
        advice: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const INCIDENTS: Items = crate::api::incidents::INCIDENT_LIST;

    fn ids(numbers: &[u64]) -> Vec<String> {
        numbers.iter().map(u64::to_string).collect()
    }

    #[test]
    fn a_list_may_read_the_pages_its_limit_needs_plus_slack() {
        let mut bound = PageBound::for_limit(250, 100, INCIDENTS);
        for page in 0..5u64 {
            bound.next().unwrap();
            bound.read(ids(&[page]));
        }
        assert_eq!(
            bound.next().unwrap_err().to_string(),
            "page after page announced more results, so listing stopped after 5 pages, the cap for a limit of 250 at 100 incidents a page (⌈250/100⌉ + 2); try again later, or narrow the list with `status`, `assigned_to` or `odata`"
        );
    }

    #[test]
    fn a_page_of_nothing_new_ends_the_paging_but_an_empty_page_does_not() {
        let mut bound = PageBound::for_limit(1000, 100, INCIDENTS);
        bound.read(ids(&[1, 2]));
        bound.read(Vec::<String>::new());
        bound.next().unwrap();
        bound.read(ids(&[2, 3]));
        bound.next().unwrap();
        bound.read(ids(&[3, 1]));
        assert_eq!(
            bound.next().unwrap_err(),
            PagingError::Repeated {
                page: 4,
                noun: "incidents",
                advice: INCIDENTS.advice,
            }
        );
    }
}
