//! The audit trail: every change of users, tokens, data sources and projects, with who
//! (user, or user and token) and from where (client address), in the event log and the
//! server log. Read back by admins with `GET /api/v1/audit`.
//!
//! Each entry is an [`AuditMessage`]: a code with its parameters, which the console says
//! in the user's language, and its English, which API users and the server log read.

use obsync_model::{message_codes, MessageCode};

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

message_codes! {
    /// A change someone made, or a security event (failed logins), as the event log says it.
    pub enum AuditMessage {
        ProjectCreated = "event.audit.project_created" { name: String },
        ProjectEdited = "event.audit.project_edited" {},
        ProjectDeleted = "event.audit.project_deleted" { name: String },
        PrecheckPassed = "event.audit.precheck_passed" {},
        PrecheckFailed = "event.audit.precheck_failed" {},
        Started = "event.audit.started" {},
        Paused = "event.audit.paused" {},
        Resumed = "event.audit.resumed" {},
        Released = "event.audit.released" {},
        /// The project was cloned; `copy` is the new project's id.
        Cloned = "event.audit.cloned" { copy: String },
        /// An online object change: each param a comma-separated table list, `-` if none
        /// (`backfilled`: the added tables that are backfilled; `changed`: re-routed ones).
        ObjectsChanged = "event.audit.objects_changed" { added: String, backfilled: String, removed: String, changed: String },
        ResyncAsked = "event.audit.resync_asked" { table: String },
        VerifyStarted = "event.audit.verify_started" {},
        DataSourceCreated = "event.audit.datasource_created" { name: String },
        DataSourceCreatedByOms = "event.audit.datasource_created_by_oms" { name: String },
        DataSourceCreatedByImport = "event.audit.datasource_created_by_import" {},
        DataSourceEdited = "event.audit.datasource_edited" { name: String },
        DataSourceDeleted = "event.audit.datasource_deleted" { name: String },
        UserCreated = "event.audit.user_created" { user: String, role: String },
        UserRoleSet = "event.audit.user_role_set" { user: String, role: String },
        UserDeleted = "event.audit.user_deleted" { user: String },
        PasswordChanged = "event.audit.password_changed" {},
        AdminPasswordReset = "event.audit.admin_password_reset" {},
        TokenCreated = "event.audit.token_created" { name: String, role: String, days: u64 },
        TokenDeleted = "event.audit.token_deleted" {},
        LoginFailed = "event.audit.login_failed" { user: String },
        /// A failed login after which the address waits; `failures` in a row.
        LoginFailedWait = "event.audit.login_failed_wait" { user: String, failures: u32, seconds: u64 },
        /// As `LoginFailed`, with `suppressed` earlier failures not recorded one by one.
        LoginFailedMore = "event.audit.login_failed_more" { user: String, suppressed: u64 },
        LoginFailedWaitMore = "event.audit.login_failed_wait_more" { user: String, failures: u32, seconds: u64, suppressed: u64 },
    }
}

impl AuditMessage {
    /// The English of the entry (the event log's `message`, the server log).
    pub fn english(&self) -> String {
        use AuditMessage as A;
        match self {
            A::ProjectCreated { name } => format!("created project {name:?}"),
            A::ProjectEdited {} => "edited the definition".into(),
            A::ProjectDeleted { name } => format!("deleted project {name:?}"),
            A::PrecheckPassed {} => "precheck passed".into(),
            A::PrecheckFailed {} => "precheck failed".into(),
            A::Started {} => "started".into(),
            A::Paused {} => "paused".into(),
            A::Resumed {} => "resumed".into(),
            A::Released {} => "released".into(),
            A::Cloned { copy } => format!("cloned as {copy}"),
            A::ObjectsChanged {
                added,
                backfilled,
                removed,
                changed,
            } => format!(
                "changed objects: added {added} (backfilled: {backfilled}); removed {removed}; re-routed {changed}"
            ),
            A::ResyncAsked { table } => format!("asked for a re-sync of {table}"),
            A::VerifyStarted {} => "verify started".into(),
            A::DataSourceCreated { name } => format!("created data source {name:?}"),
            A::DataSourceCreatedByOms { name } => {
                format!("created data source {name:?} (OMS shim)")
            }
            A::DataSourceCreatedByImport {} => "created the data source (project import)".into(),
            A::DataSourceEdited { name } => format!("edited data source {name:?}"),
            A::DataSourceDeleted { name } => format!("deleted data source {name:?}"),
            A::UserCreated { user, role } => format!("created user {user:?} ({role})"),
            A::UserRoleSet { user, role } => format!("set the role of {user:?} to {role}"),
            A::UserDeleted { user } => {
                format!("deleted user {user:?} with their sessions and tokens")
            }
            A::PasswordChanged {} => "changed the own password (other sessions ended)".into(),
            A::AdminPasswordReset {} => "reset the admin's password (its sessions ended)".into(),
            A::TokenCreated { name, role, days } => {
                format!("created API token {name:?} ({role}, {days} days)")
            }
            A::TokenDeleted {} => "deleted the API token".into(),
            A::LoginFailed { user } => format!("failed login of {user}"),
            A::LoginFailedWait {
                user,
                failures,
                seconds,
            } => format!(
                "failed login of {user} ({failures} in a row): further tries from this address wait {seconds} s"
            ),
            A::LoginFailedMore { user, suppressed } => format!(
                "failed login of {user} ({suppressed} earlier failed logins not recorded one by one)"
            ),
            A::LoginFailedWaitMore {
                user,
                failures,
                seconds,
                suppressed,
            } => format!(
                "failed login of {user} ({failures} in a row): further tries from this address wait {seconds} s ({suppressed} earlier failed logins not recorded one by one)"
            ),
        }
    }
}

/// Records a change `actor` made to `subject`.
pub async fn record(
    state: &AppState,
    actor: &Actor,
    subject: Subject<'_>,
    message: AuditMessage,
) -> crate::store::Result<()> {
    let (kind, id) = subject.parts();
    let who = actor.who();
    let client = actor.client_text();
    let text = message.english();
    tracing::info!(subject = kind, id, actor = %who, client = client.as_deref().unwrap_or("-"), "{text}");
    state
        .store
        .add_audit(&AuditEntry {
            subject: kind,
            subject_id: id,
            kind: EventKind::Audit,
            actor: &who,
            client: client.as_deref(),
            message: &text,
            coded: &message.coded(),
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::AuditMessage;

    #[test]
    fn a_failed_login_says_the_wait_and_the_unrecorded_failures() {
        let m = AuditMessage::LoginFailedWaitMore {
            user: "ann".into(),
            failures: 5,
            seconds: 8,
            suppressed: 3,
        };
        assert_eq!(
            m.english(),
            "failed login of ann (5 in a row): further tries from this address wait 8 s (3 earlier failed logins not recorded one by one)"
        );
    }
}
