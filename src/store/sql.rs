//! Statements whose text is written at run time: lists of values (`IN (...)`), the rows of
//! a multi-row statement, the filters a list may or may not have. One builder writes their
//! placeholders, so it is the one place that knows each backend's style:
//! - `$1`, `$2`, ... on both backends for every statement ([`Sql::new`]), like the store's
//!   fixed statements;
//! - anonymous `?` on SQLite for generated multi-row statements ([`Sql::multi_row`]):
//!   SQLite looks a numbered placeholder up by walking a list of every name, so a
//!   1,000-value statement paid for a million steps (measured: 6% of the writer thread).
//!   PostgreSQL needs `$n`.

use std::borrow::Cow;
use std::fmt::Write;

use sqlx::AssertSqlSafe;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::{Backend, Conn};

/// How a statement's text refers to its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholders {
    /// `$1`, `$2`, ...: a placeholder may be written anywhere, any number of times.
    Numbered,
    /// `?`: values are taken in the order their placeholders appear, so each is written
    /// once, where its value is bound.
    Anonymous,
}

/// A value bound to a statement. Text is borrowed where it can be: a batch's multi-row
/// inserts bind thousands of values from rows the caller holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Text(Option<Cow<'a, str>>),
    Int(Option<i64>),
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(text: &'a str) -> Self {
        Value::Text(Some(Cow::Borrowed(text)))
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(text: &'a String) -> Self {
        Value::Text(Some(Cow::Borrowed(text)))
    }
}

impl From<String> for Value<'_> {
    fn from(text: String) -> Self {
        Value::Text(Some(Cow::Owned(text)))
    }
}

impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(text: Option<&'a str>) -> Self {
        Value::Text(text.map(Cow::Borrowed))
    }
}

impl From<i64> for Value<'_> {
    fn from(n: i64) -> Self {
        Value::Int(Some(n))
    }
}

impl From<Option<i64>> for Value<'_> {
    fn from(n: Option<i64>) -> Self {
        Value::Int(n)
    }
}

/// A statement being written: its text and the values its placeholders take, in order.
#[derive(Debug, Clone)]
pub struct Sql<'a> {
    placeholders: Placeholders,
    text: String,
    values: Vec<Value<'a>>,
}

impl Default for Sql<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Sql<'a> {
    /// A statement with numbered placeholders, `$1`, `$2`, ..., on either backend.
    pub fn new() -> Self {
        Self::with(Placeholders::Numbered)
    }

    /// A generated multi-row statement on `backend`: anonymous `?` on SQLite, `$n` on
    /// PostgreSQL. Its placeholders are written where their values are bound
    /// ([`Sql::push_bind`], [`Sql::values_rows`], [`Sql::in_list`]), never by
    /// [`Sql::bind`].
    pub fn multi_row(backend: Backend) -> Self {
        Self::with(match backend {
            Backend::Sqlite => Placeholders::Anonymous,
            Backend::Postgres => Placeholders::Numbered,
        })
    }

    fn with(placeholders: Placeholders) -> Self {
        Self {
            placeholders,
            text: String::new(),
            values: Vec::new(),
        }
    }

    /// Appends text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Binds a value and appends its placeholder.
    pub fn push_bind(&mut self, value: impl Into<Value<'a>>) -> &mut Self {
        self.values.push(value.into());
        self.push_placeholder();
        self
    }

    /// Binds a value and returns its placeholder (`$n`), to be written wherever (and as
    /// often as) the text needs it. Numbered statements only: an anonymous placeholder
    /// means "the next value", so it cannot be written later or twice.
    pub fn bind(&mut self, value: impl Into<Value<'a>>) -> String {
        assert_eq!(
            self.placeholders,
            Placeholders::Numbered,
            "only a numbered placeholder can be written apart from its value"
        );
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    /// Binds values and appends a parenthesised list of their placeholders, `(?, ?, ?)`
    /// or `($3, $4, $5)`, for `IN`.
    pub fn in_list<V: Into<Value<'a>>>(
        &mut self,
        values: impl IntoIterator<Item = V>,
    ) -> &mut Self {
        self.push_row(values.into_iter().map(Into::into));
        self
    }

    /// Binds rows of values and appends their tuples, `(?, ?), (?, ?)` or
    /// `($1, $2), ($3, $4)`, for `VALUES`.
    pub fn values_rows<R: IntoIterator<Item = Value<'a>>>(
        &mut self,
        rows: impl IntoIterator<Item = R>,
    ) -> &mut Self {
        let mut rows = rows.into_iter();
        if let Some(row) = rows.next() {
            let before = self.values.len();
            self.push_row(row.into_iter());
            // A 64-row insert has over a thousand placeholders: room for the rest at once.
            let (rest, _) = rows.size_hint();
            let width = self.values.len() - before;
            self.text.reserve(rest * width * 6);
            self.values.reserve(rest * width);
        }
        for row in rows {
            self.text.push_str(", ");
            self.push_row(row.into_iter());
        }
        self
    }

    /// `(p, p, ..)` for `values`.
    fn push_row(&mut self, values: impl Iterator<Item = Value<'a>>) {
        self.text.push('(');
        for (i, value) in values.enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.values.push(value);
            self.push_placeholder();
        }
        self.text.push(')');
    }

    /// The placeholder of the last value bound.
    fn push_placeholder(&mut self) {
        match self.placeholders {
            Placeholders::Anonymous => self.text.push('?'),
            Placeholders::Numbered => {
                let _ = write!(self.text, "${}", self.values.len());
            }
        }
    }

    /// The text written so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text and the values, in order.
    pub fn into_parts(self) -> (String, Vec<Value<'a>>) {
        (self.text, self.values)
    }

    /// The statement with its values bound.
    pub fn query(self) -> Query<'static, sqlx::Any, AnyArguments> {
        bound(self.text, self.values)
    }
}

/// `text` with `values` bound in order (the parts of a [`Sql`], or text written around
/// them, as `EXPLAIN` is).
pub fn bound<'a>(
    text: String,
    values: impl IntoIterator<Item = Value<'a>>,
) -> Query<'static, sqlx::Any, AnyArguments> {
    values.into_iter().fold(
        sqlx::query(AssertSqlSafe(text)),
        |query, value| match value {
            Value::Text(Some(Cow::Borrowed(text))) => query.bind(Some(text)),
            Value::Text(Some(Cow::Owned(text))) => query.bind(Some(text)),
            Value::Text(None) => query.bind(None::<&str>),
            Value::Int(n) => query.bind(n),
        },
    )
}

/// Runs statements in order, by as few calls as their placeholders allow. Anonymous ones
/// (SQLite's multi-row statements) go as one query: one hand-off to sqlx's SQLite thread
/// instead of one per statement (under load each hand-off waited behind the HTTP work for
/// the runtime, ~0.2 ms), and SQLite takes `?` values in order across the statements.
/// Numbered ones go one by one: PostgreSQL prepares one statement at a time, and each
/// numbers its values from `$1`.
pub async fn execute_all(conn: &mut Conn, statements: Vec<Sql<'_>>) -> sqlx::Result<()> {
    if statements.is_empty() {
        return Ok(());
    }
    if statements
        .iter()
        .all(|s| s.placeholders == Placeholders::Anonymous)
    {
        let text: Vec<&str> = statements.iter().map(Sql::text).collect();
        let text = text.join(";\n");
        bound(text, statements.into_iter().flat_map(|s| s.values))
            .execute(&mut *conn)
            .await?;
    } else {
        for statement in statements {
            statement.query().execute(&mut *conn).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(values: &[Value<'_>]) -> Vec<String> {
        values.iter().map(|v| format!("{v:?}")).collect()
    }

    #[test]
    fn every_statement_numbers_its_placeholders_on_both_backends() {
        let mut sql = Sql::new();
        let account = sql.bind("a");
        let at = sql.bind(5);
        sql.push(&format!(
            "SELECT 1 WHERE a = {account} AND b < {at} AND c = {account}"
        ));
        sql.push(" AND d = ").push_bind(Some(7)).push(" AND e IN ");
        sql.in_list(["x", "y"]);
        let (text, values) = sql.into_parts();
        assert_eq!(
            text,
            "SELECT 1 WHERE a = $1 AND b < $2 AND c = $1 AND d = $3 AND e IN ($4, $5)"
        );
        assert_eq!(
            values,
            vec![
                Value::from("a"),
                Value::Int(Some(5)),
                Value::Int(Some(7)),
                Value::from("x"),
                Value::from("y")
            ]
        );
    }

    #[test]
    fn multi_row_statements_are_anonymous_on_sqlite_and_numbered_on_postgres() {
        let rows = |width: usize, n: usize| {
            (0..n).map(move |r| (0..width).map(move |c| Value::from((r * width + c) as i64)))
        };
        let tuples = |backend, width, n| {
            let mut sql = Sql::multi_row(backend);
            sql.values_rows(rows(width, n));
            sql.into_parts()
        };
        assert_eq!(tuples(Backend::Sqlite, 2, 2).0, "(?, ?), (?, ?)");
        assert_eq!(
            tuples(Backend::Postgres, 2, 3).0,
            "($1, $2), ($3, $4), ($5, $6)"
        );
        assert_eq!(tuples(Backend::Sqlite, 3, 1).0, "(?, ?, ?)");
        assert_eq!(tuples(Backend::Postgres, 1, 3).0, "($1), ($2), ($3)");
        let (wide, values) = tuples(Backend::Postgres, 7, 64);
        assert_eq!(wide.matches('$').count(), 448);
        assert!(wide.ends_with("$448)"));
        assert_eq!(values.len(), 448);
        assert_eq!(values[447], Value::Int(Some(447)));
        assert_eq!(tuples(Backend::Sqlite, 3, 0).0, "");

        for (backend, expected) in [
            (
                Backend::Sqlite,
                "UPDATE t SET a = ? WHERE b = ? AND c IN (?, ?)",
            ),
            (
                Backend::Postgres,
                "UPDATE t SET a = $1 WHERE b = $2 AND c IN ($3, $4)",
            ),
        ] {
            let mut sql = Sql::multi_row(backend);
            sql.push("UPDATE t SET a = ")
                .push_bind(1)
                .push(" WHERE b = ");
            sql.push_bind(None::<&str>)
                .push(" AND c IN ")
                .in_list([2, 3]);
            let (text, values) = sql.into_parts();
            assert_eq!(text, expected);
            assert_eq!(
                texts(&values),
                ["Int(Some(1))", "Text(None)", "Int(Some(2))", "Int(Some(3))"]
            );
        }
    }

    #[test]
    #[should_panic(expected = "only a numbered placeholder")]
    fn an_anonymous_placeholder_is_written_where_its_value_is_bound() {
        Sql::multi_row(Backend::Sqlite).bind(1);
    }

    #[test]
    fn values_borrow_text_and_own_what_they_are_given() {
        let held = String::from("held");
        assert_eq!(Value::from(&held), Value::Text(Some(Cow::Borrowed("held"))));
        assert!(matches!(
            Value::from(String::from("x")),
            Value::Text(Some(Cow::Owned(_)))
        ));
        assert_eq!(Value::from(None::<i64>), Value::Int(None));
    }

    /// Statements of both styles run on SQLite (which reads `$n` too): anonymous ones as
    /// one query taking values in order across statements, numbered ones one by one.
    #[tokio::test]
    async fn statements_of_both_styles_run_in_order() {
        let (_dir, db) = super::super::temp_sqlite().await;
        let mut conn = db.conn().await.unwrap();
        sqlx::query("CREATE TABLE t (a TEXT, b INTEGER)")
            .execute(&mut *conn)
            .await
            .unwrap();
        for backend in [Backend::Sqlite, Backend::Postgres] {
            sqlx::query("DELETE FROM t")
                .execute(&mut *conn)
                .await
                .unwrap();
            let mut insert = Sql::multi_row(backend);
            insert.push("INSERT INTO t (a, b) VALUES ");
            insert.values_rows((1..=3).map(|n| [Value::from("x"), Value::from(n)]));
            let mut update = Sql::multi_row(backend);
            update
                .push("UPDATE t SET a = ")
                .push_bind(String::from("y"));
            update.push(" WHERE b IN ").in_list([1, 3]);
            execute_all(&mut conn, vec![insert, update]).await.unwrap();
            let rows: Vec<(String, i64)> = sqlx::query_as("SELECT a, b FROM t ORDER BY b")
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            let row = |a: &str, b| (a.to_owned(), b);
            assert_eq!(rows, [row("y", 1), row("x", 2), row("y", 3)], "{backend:?}");
        }
        execute_all(&mut conn, Vec::new()).await.unwrap();
    }
}
