//! Holiday years imported by hand (`xunjian holidays import`).

use super::{Result, Store, to_secs, with_pool};
use chrono::{DateTime, Utc};

impl Store {
    /// Keeps a year's arrangement (holiday-cn JSON), replacing one kept before.
    pub async fn save_holiday_year(
        &self,
        year: i32,
        data: &str,
        source: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO holiday_years (year, data, source, actor, imported_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (year) DO UPDATE SET data = $2, source = $3, actor = $4, imported_at = $5",
            )
            .bind(i64::from(year))
            .bind(data)
            .bind(source)
            .bind(actor)
            .bind(to_secs(now))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The kept years, oldest first: (year, holiday-cn JSON, source file).
    pub async fn holiday_years(&self) -> Result<Vec<(i32, String, String)>> {
        let rows: Vec<(i64, String, String)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT year, data, source FROM holiday_years ORDER BY year")
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(year, data, source)| Some((i32::try_from(year).ok()?, data, source)))
            .collect())
    }
}
