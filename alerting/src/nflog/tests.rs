use std::collections::BTreeMap;

use super::*;

fn alert(event_id: &str) -> Alert {
    let mut labels = BTreeMap::new();
    labels.insert("alertname".to_owned(), "NegativeReview".to_owned());
    Alert {
        fingerprint: crate::alert::fingerprint(&labels, event_id),
        labels,
        annotations: BTreeMap::new(),
        starts_at_ms: 1_000,
        event_id: event_id.to_owned(),
        review_created_at_ms: 1_000,
    }
}

#[test]
fn states_move_from_sending_to_sent_and_never_back() {
    let log = NotificationLog::in_memory().unwrap();
    let first = alert("e1");
    assert_eq!(log.state("e1", "hook").unwrap(), None);
    assert!(!log.has_event("e1").unwrap());

    log.begin_send(&first, "hook", 10).unwrap();
    log.begin_send(&first, "hook", 11).unwrap();
    let entry = log.entry("e1", "hook").unwrap().unwrap();
    assert_eq!(entry.state, NotificationState::Sending);
    assert_eq!(entry.attempts, 2);
    assert_eq!((entry.created_at_ms, entry.updated_at_ms), (10, 11));
    assert_eq!(entry.fingerprint, first.fingerprint);
    assert!(log.has_event("e1").unwrap());
    assert_eq!(
        log.pending().unwrap(),
        vec![("hook".to_owned(), first.clone())]
    );

    log.note_error("e1", "hook", 12, "http status 503: busy")
        .unwrap();
    log.mark_sent("e1", "hook", 13).unwrap();
    // A later begin_send (a replay) leaves the sent row alone.
    log.begin_send(&first, "hook", 14).unwrap();
    let entry = log.entry("e1", "hook").unwrap().unwrap();
    assert_eq!(entry.state, NotificationState::Sent);
    assert_eq!(entry.attempts, 2);
    assert_eq!(entry.sent_at_ms, Some(13));
    assert_eq!(entry.last_error.as_deref(), Some("http status 503: busy"));
    assert!(log.pending().unwrap().is_empty());
    // Another receiver of the same event is independent.
    assert_eq!(log.state("e1", "other").unwrap(), None);
}

#[test]
fn failed_is_final_and_counted() {
    let log = NotificationLog::in_memory().unwrap();
    log.begin_send(&alert("e1"), "hook", 1).unwrap();
    log.mark_failed("e1", "hook", 2, "http status 400: bad")
        .unwrap();
    log.begin_send(&alert("e1"), "hook", 3).unwrap();
    log.record_delivered(&alert("e2"), "@observer", 4).unwrap();
    assert_eq!(
        log.state("e1", "hook").unwrap(),
        Some(NotificationState::Failed)
    );
    assert_eq!(log.count(NotificationState::Failed).unwrap(), 1);
    assert_eq!(log.count(NotificationState::Sent).unwrap(), 1);
    assert_eq!(log.count(NotificationState::Sending).unwrap(), 0);
    assert!(NotificationState::Failed.is_final() && !NotificationState::Sending.is_final());
}

#[test]
fn rows_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nflog.sqlite");
    {
        let log = NotificationLog::open(&path).unwrap();
        log.begin_send(&alert("e1"), "hook", 1).unwrap();
        log.mark_sent("e1", "hook", 2).unwrap();
        log.begin_send(&alert("e2"), "hook", 3).unwrap();
    }
    let log = NotificationLog::open(&path).unwrap();
    assert_eq!(
        log.state("e1", "hook").unwrap(),
        Some(NotificationState::Sent)
    );
    let pending = log.pending().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].1, alert("e2"));
}
