//! The trigram index behind a search (`q`) on SQLite: which of q's trigrams a search asks
//! leads_search for, and how it tells a rare trigram from a common one. `leads::list`
//! builds the statements; the LIKE there decides what matches, so everything here only
//! narrows (and any choice returns the same page).

use crate::store::Conn;
use crate::store::sql::{Sql, Value, bound};

/// How many of q's trigrams a search on SQLite reads from the index. Each one read costs
/// its whole list of leads (FTS5 cannot skip through them here), so a few rare ones are
/// fastest; the LIKE decides what matches, so any choice returns the same page.
pub const READ_TRIGRAMS: u32 = 3;

/// How many of q's trigrams (from its start) a search measures and may read; a longer q
/// is narrowed by these alone.
pub const MEASURED_TRIGRAMS: usize = 16;

/// Which of q's trigrams a search reads from the index: a set of start positions (in
/// characters, below `MEASURED_TRIGRAMS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigrams(u16);

impl Trigrams {
    /// The `READ_TRIGRAMS` rarest by `commonness` (of q's trigram at each position, lower
    /// is rarer: see `commonness_sql`; a position not given counts 0; the earlier position
    /// on a tie), taking first the ones that do not overlap a rarer pick: overlapping
    /// trigrams mostly come together (`hot` and `ote` of "photem"), so they narrow less.
    /// Trigrams apart can come together too, hence three and not two
    /// (docs/performance.md, "Search").
    pub fn rarest(q: &str, commonness: &[i64]) -> Trigrams {
        let positions = q.chars().count().saturating_sub(2).min(MEASURED_TRIGRAMS);
        let mut order: Vec<usize> = (0..positions).collect();
        order.sort_by_key(|&i| (commonness.get(i).copied().unwrap_or(0), i));
        let mut picked = 0u16;
        for apart in [true, false] {
            for &i in &order {
                let clear = (0..positions).all(|j| picked & (1 << j) == 0 || j.abs_diff(i) >= 3);
                if (clear || !apart) && picked.count_ones() < READ_TRIGRAMS {
                    picked |= 1 << i;
                }
            }
        }
        Trigrams(picked)
    }

    /// With nothing counted: every third from the start, then the first ones.
    pub fn spread(q: &str) -> Trigrams {
        Trigrams::rarest(q, &[])
    }

    /// The chosen start positions, in order.
    pub fn positions(self) -> impl Iterator<Item = usize> {
        (0..MEASURED_TRIGRAMS).filter(move |i| self.0 & (1 << i) != 0)
    }
}

/// Whether the trigram index can answer `q`: it needs three characters (one trigram), and
/// a NUL would end the full-text query early (the LIKE walk keeps today's meaning for it).
pub fn searchable(q: &str) -> bool {
    q.chars().nth(2).is_some() && !q.contains('\0')
}

/// How many of each trigram's newest entries `commonness_sql` reads.
pub const COMMONNESS_SAMPLE: i64 = 64;

/// SQLite: how common each measured trigram of q is in leads_search, comma-separated, in
/// q's order: its number of entries when it has fewer than `COMMONNESS_SAMPLE`, else that
/// plus the millisecond of its `COMMONNESS_SAMPLE`-th newest entry, so a trigram whose
/// newest entries reach further back is rarer. What a search costs is the length of the
/// lists it reads, across all accounts, and this is a cheap look at their newest end.
pub fn commonness_sql(q: &str) -> (String, Vec<Value<'static>>) {
    let mut sql = Sql::new();
    let measures: Vec<String> = trigrams(q)
        .take(MEASURED_TRIGRAMS)
        .map(|t| {
            let term = sql.bind(format!("\"{}\"", t.replace('"', "\"\"")));
            format!(
                "(SELECT CASE WHEN count(*) < {COMMONNESS_SAMPLE} THEN count(*) \
                 ELSE {COMMONNESS_SAMPLE} + (min(f.rowid) >> 21) END \
                 FROM (SELECT rowid FROM leads_search WHERE leads_search MATCH {term} \
                 ORDER BY rowid DESC LIMIT {COMMONNESS_SAMPLE}) f)"
            )
        })
        .collect();
    if measures.is_empty() {
        sql.push("SELECT ''");
    } else {
        // Text even for one trigram, whose measure alone is a number.
        sql.push("SELECT '' || ")
            .push(&measures.join(" || ',' || "));
    }
    sql.into_parts()
}

/// Runs `commonness_sql`: one number per measured trigram of q, in q's order.
pub(super) async fn measure_commonness(conn: &mut Conn, q: &str) -> sqlx::Result<Vec<i64>> {
    let (sql, args) = commonness_sql(q);
    let row = bound(sql, args).fetch_one(&mut *conn).await?;
    let (measured,): (String,) = sqlx::FromRow::from_row(&row)?;
    Ok(measured
        .split(',')
        .map(|n| n.parse().unwrap_or(0))
        .collect())
}

/// Whether q's rarest trigram is rare enough among the leads newer than `edge` (the probe's
/// last lead; `None` when the account has fewer) that a search needs no probe: it has fewer
/// than `COMMONNESS_SAMPLE` entries in all, or its `COMMONNESS_SAMPLE`-th newest is older
/// than `edge`. Then the newest leads hold fewer matches than that, so walking them would
/// not find a page of them (the probe's test) or, for a page that small, the index finds it
/// as fast.
pub(super) fn rare_before(commonness: &[i64], edge: Option<i64>) -> bool {
    match (commonness.iter().min(), edge) {
        (Some(&rarest), Some(edge)) => {
            rarest < COMMONNESS_SAMPLE || rarest - COMMONNESS_SAMPLE < edge
        }
        _ => false,
    }
}

/// q's trigrams (three characters each, overlapping) from its start, in order.
fn trigrams(q: &str) -> impl Iterator<Item = String> + '_ {
    let chars: Vec<char> = q.chars().collect();
    (0..chars.len().saturating_sub(2)).map(move |i| chars[i..i + 3].iter().collect())
}

/// The full-text query for the `picked` trigrams of q on leads_search: every lead whose
/// text holds all of them (each quoted as an FTS5 string, so no character of q is
/// syntax). The index keeps no positions, so this narrows and the LIKE decides.
pub(super) fn fts_query(q: &str, picked: Trigrams) -> String {
    let all: Vec<String> = trigrams(q).collect();
    let mut quoted: Vec<String> = Vec::new();
    for i in picked.positions() {
        let term = format!("\"{}\"", all[i].replace('"', "\"\""));
        if !quoted.contains(&term) {
            quoted.push(term);
        }
    }
    quoted.join(" AND ")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn search_terms_are_literal_in_both_syntaxes() {
        assert!(!searchable("ab") && !searchable("é!") && searchable("abc"));
        assert!(searchable("äöü") && !searchable("a\0bc"));
        let spread = |q: &str| fts_query(q, Trigrams::spread(q));
        assert_eq!(spread("abc"), r#""abc""#);
        assert_eq!(spread("abcd"), r#""abc" AND "bcd""#);
        assert_eq!(spread("abcdefg"), r#""abc" AND "bcd" AND "def""#);
        assert_eq!(spread("aaaaaaaaa"), r#""aaa""#);
        assert_eq!(spread(r#"o"n*"d"#), r#""o""n" AND """n*" AND "*""d""#);
        assert_eq!(spread("äöüßé"), r#""äöü" AND "öüß" AND "üßé""#);
    }

    /// The three rarest trigrams, apart first (the generator's brand "bellophotem": `llo`,
    /// `hot` and `ote` are in ~23,000 leads of a million each, `bel` in 265,000).
    #[test]
    fn a_search_reads_the_rarest_trigrams_apart_first() {
        let q = "bellophotem";
        // bel ell llo lop oph pho hot ote tem, as measured on the benchmark's million
        let commonness = [265, 85, 23, 36, 47, 227, 24, 22, 227];
        let picked: Vec<usize> = Trigrams::rarest(q, &commonness).positions().collect();
        assert_eq!(picked, [2, 6, 7]);
        assert_eq!(
            fts_query(q, Trigrams::rarest(q, &commonness)),
            r#""llo" AND "hot" AND "ote""#
        );
        // Rare at the ends and in the middle: three apart from each other.
        let commonness = [0, 9, 9, 9, 1, 9, 9, 9, 0];
        let picked: Vec<usize> = Trigrams::rarest(q, &commonness).positions().collect();
        assert_eq!(picked, [0, 4, 8]);
        // Past the measured positions nothing is read; a short q has what it has.
        let long = "x".repeat(40);
        let spread: Vec<usize> = Trigrams::spread(&long).positions().collect();
        assert_eq!(spread, [0, 3, 6]);
        assert_eq!(Trigrams::spread("abc").positions().collect::<Vec<_>>(), [0]);
        assert_eq!(
            Trigrams::spread("abcd").positions().collect::<Vec<_>>(),
            [0, 1]
        );
        let far = [9; MEASURED_TRIGRAMS + 4];
        let mut far_rare = far;
        far_rare[MEASURED_TRIGRAMS + 2] = 0;
        assert_eq!(
            Trigrams::rarest(&long, &far_rare),
            Trigrams::rarest(&long, &far)
        );
    }

    /// A search skips the probe only when q's rarest trigram has fewer entries than the
    /// sample, or its sample reaches back past the probe's last lead; never without one.
    #[test]
    fn a_search_skips_the_probe_only_for_a_rare_trigram() {
        let at = |ms: i64| COMMONNESS_SAMPLE + ms;
        let cases = [
            (vec![], Some(1_000), false),
            (vec![10, at(5_000)], None, false),
            (vec![10, at(5_000)], Some(1_000), true),
            (vec![at(5_000), at(999)], Some(1_000), true),
            (vec![at(5_000), at(1_000)], Some(1_000), false),
            (vec![at(5_000), at(1_500)], Some(1_000), false),
            (vec![0], Some(1_000), true),
        ];
        for (commonness, edge, rare) in cases {
            assert_eq!(
                rare_before(&commonness, edge),
                rare,
                "{commonness:?} {edge:?}"
            );
        }
    }

    proptest! {
        /// Whatever the counts: `READ_TRIGRAMS` of q's measured trigrams (all of them when
        /// q has fewer), the rarest among them, and overlapping ones only when every
        /// trigram left out overlaps a pick.
        #[test]
        fn picked_trigrams_are_rare_and_apart_first(
            q in "[a-c]{0,24}",
            commonness in proptest::collection::vec(0i64..50, 0..30),
        ) {
            let picked: Vec<usize> = Trigrams::rarest(&q, &commonness).positions().collect();
            let positions = q.len().saturating_sub(2).min(MEASURED_TRIGRAMS);
            prop_assert_eq!(picked.len(), positions.min(READ_TRIGRAMS as usize));
            prop_assert!(picked.iter().all(|&i| i < positions));
            let count = |i: usize| commonness.get(i).copied().unwrap_or(0);
            if let Some(min) = (0..positions).map(count).min() {
                prop_assert!(picked.iter().any(|&i| count(i) == min));
            }
            if picked.windows(2).any(|w| w[1] - w[0] < 3) {
                let overlaps_a_pick = |i: usize| picked.iter().any(|&p| p.abs_diff(i) < 3);
                prop_assert!((0..positions).all(overlaps_a_pick));
            }
        }
    }
}
