//! Pages of a listing and the cursors between them.

/// One page: the items and, when more follow, the position to continue from.
#[derive(Debug, Clone)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// Builds a page from up to `limit + 1` rows: the extra row, if present,
    /// only tells that another page exists.
    pub fn from_overfetch(mut rows: Vec<T>, limit: usize, position: impl Fn(&T) -> C) -> Self {
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(&position)
        } else {
            None
        };
        Self { items: rows, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U, C> {
        Page { items: self.items.into_iter().map(f).collect(), next: self.next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_row_means_another_page() {
        let page = Page::from_overfetch(vec![1, 2, 3], 2, |n| *n);
        assert_eq!((page.items, page.next), (vec![1, 2], Some(2)));
        let last = Page::from_overfetch(vec![1, 2], 2, |n| *n);
        assert_eq!((last.items, last.next), (vec![1, 2], None));
    }
}
