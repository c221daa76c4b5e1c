//! The audit trail: every change of users, tokens, data sources and projects, with who
//! (user, or user and token) and from where (client address), in the event log and the
//! server log. Read back by admins with `GET /api/v1/audit`.

use crate::auth::Actor;
use crate::model::EventKind;
use crate::state::AppState;
use crate::store::AuditEntry;

/// What an audit event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    Project(&'a str),
    DataSource(&'a str),
    User(&'a str),
    Token(&'a str),
}

impl Subject<'_> {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Subject::Project(id) => ("project", id),
            Subject::DataSource(id) => ("datasource", id),
            Subject::User(name) => ("user", name),
            Subject::Token(id) => ("token", id),
        }
    }
}

/// Records a change `actor` made to `subject`.
pub async fn record(
    state: &AppState,
    actor: &Actor,
    subject: Subject<'_>,
    message: &str,
) -> crate::store::Result<()> {
    let (kind, id) = subject.parts();
    let who = actor.who();
    let client = actor.client_text();
    tracing::info!(subject = kind, id, actor = %who, client = client.as_deref().unwrap_or("-"), "{message}");
    state
        .store
        .add_audit(&AuditEntry {
            subject: kind,
            subject_id: id,
            kind: EventKind::Audit,
            actor: &who,
            client: client.as_deref(),
            message,
        })
        .await
}
