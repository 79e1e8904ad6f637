//! Scheduled work: a missed inspection slot is caught up once; job claims
//! carry a lease, so a dead daemon's job is taken over; on SQLite and PostgreSQL.

use crate::helpers::{at, test_dbs};
use chrono::Duration;
use xunjian::inspection::Inspector;
use xunjian::scheduler::{CronSchedule, run_due_inspection};

#[tokio::test]
async fn a_missed_inspection_slot_is_caught_up_once_and_only_the_latest() {
    for db in test_dbs("inspection_catch_up").await {
        let inspector = Inspector::new(db.store.clone(), db.settings.clone()).expect("inspector");
        let schedule = CronSchedule::parse("0 9 * * 1-5").expect("cron");
        // Monday 2026-11-23: the daemon starts at 15:00, after the 09:00 slot.
        let ran = run_due_inspection(&inspector, &schedule, at("2026-11-23T15:00:00+08:00"), "d1")
            .await
            .expect("runs");
        assert_eq!(
            ran.map(|(slot, _)| slot),
            Some(at("2026-11-23T09:00:00+08:00"))
        );
        // Once: later ticks the same day find nothing to do.
        for now in ["2026-11-23T15:01:00+08:00", "2026-11-24T08:59:00+08:00"] {
            let again = run_due_inspection(&inspector, &schedule, at(now), "d1")
                .await
                .expect("runs");
            assert!(again.is_none(), "{now}");
        }
        // Down all Tuesday, back Wednesday 10:00: Wednesday's slot runs, once.
        let ran = run_due_inspection(&inspector, &schedule, at("2026-11-25T10:00:00+08:00"), "d1")
            .await
            .expect("runs");
        assert_eq!(
            ran.map(|(slot, _)| slot),
            Some(at("2026-11-25T09:00:00+08:00"))
        );
        let inspections = db
            .store
            .inspections_between(
                at("2026-11-20T00:00:00+08:00"),
                at("2026-11-30T00:00:00+08:00"),
            )
            .await
            .expect("inspections");
        assert_eq!(inspections.len(), 2, "{inspections:?}");
        db.finish().await;
    }
}

#[tokio::test]
async fn a_claimed_job_is_taken_over_after_its_lease_and_a_released_one_at_once() {
    for db in test_dbs("job_lease").await {
        let store = &db.store;
        let due = at("2026-11-23T09:00:00+08:00");
        let lease = Duration::hours(1);
        let now = at("2026-11-23T09:00:05+08:00");
        assert!(
            store
                .claim_job("inspection", due, "a", now, lease)
                .await
                .expect("claim")
        );
        assert!(
            !store
                .claim_job("inspection", due, "b", now + Duration::minutes(30), lease)
                .await
                .expect("claim"),
            "a live claim is not taken"
        );
        // Daemon a died: after the lease, b takes the job over.
        assert!(
            store
                .claim_job("inspection", due, "b", now + Duration::minutes(61), lease)
                .await
                .expect("claim")
        );
        store
            .finish_job("inspection", due, now + Duration::minutes(62))
            .await
            .expect("finish");
        assert!(
            !store
                .claim_job("inspection", due, "c", now + Duration::hours(5), lease)
                .await
                .expect("claim"),
            "a finished job never runs again"
        );
        // A run that failed gives its claim back: the next try may run it at once.
        let other = at("2026-11-24T09:00:00+08:00");
        assert!(
            store
                .claim_job("inspection", other, "a", now, lease)
                .await
                .expect("claim")
        );
        store
            .release_job("inspection", other, "a")
            .await
            .expect("release");
        assert!(
            store
                .claim_job("inspection", other, "b", now, lease)
                .await
                .expect("claim")
        );
        db.finish().await;
    }
}
