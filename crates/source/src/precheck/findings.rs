//! What the source precheck finds, as codes with typed parameters: each variant writes
//! the English `detail` and `fix` the CLI prints, and the console says the same by code
//! (`console/src/i18n`, `precheck.codes.<code>`).

use obsync_model::{message_codes, Finding};

message_codes! {
    /// A finding of a source precheck item.
    pub enum SourceFinding {
        Connected = "source.connect.ok" { address: String, user: String },
        ConnectDenied = "source.connect.denied" { flavor: String, address: String, user: String, error: String },
        ConnectUnreachable = "source.connect.unreachable" { flavor: String, address: String, user: String, error: String },
        TlsFilesUnreadable = "source.tls.files_unreadable" { mode: String, address: String, error: String },
        TlsNotOffered = "source.tls.not_offered" { mode: String, address: String, error: String },
        TlsCertificateRefused = "source.tls.certificate_refused" { mode: String, address: String, error: String, ca_file: bool, host: String },
        TlsHandshakeFailed = "source.tls.handshake_failed" { mode: String, address: String, error: String },
        TlsOff = "source.tls.off" {},
        TlsPlainFallback = "source.tls.plain_fallback" { mode: String, address: String },
        TlsOk = "source.tls.ok" { mode: String, negotiated: String, ca_file: bool },
        MetadataFailed = "source.metadata.failed" { errors: String },
        ColumnTypesOk = "source.column_types.ok" {},
        ColumnTypesUnsupported = "source.column_types.unsupported" { columns: String },
        SelectOk = "source.privileges.select.ok" { count: usize },
        SelectDenied = "source.privileges.select.denied" { tables: String },
        VersionOk = "source.version.ok" { server: String },
        VersionFlavorMismatch = "source.version.flavor_mismatch" { declared: String, server: String, flavor: String },
        VersionOldOceanBase = "source.version.old_oceanbase" { server: String },
        VersionUnreadable = "source.version.unreadable" { error: String },
        BinlogOff = "source.binlog.off" { log_bin: String },
        BinlogOk = "source.binlog.ok" { files: usize, oldest: String },
        BinlogRefused = "source.binlog.refused" { error: String },
        BinlogNoFiles = "source.binlog.no_files" {},
        BinlogListDenied = "source.binlog.list_denied" { error: String },
        BinlogListFailed = "source.binlog.list_failed" { error: String },
        DumpOk = "source.binlog_dump.ok" { resume: String, mode: String, from: String },
        DumpRefused = "source.binlog_dump.refused" { resume: String, at: String, error: String, advice: String },
        DumpPurged = "source.binlog_dump.purged" { resume: String, from: String, error: String },
        DumpLineageChanged = "source.binlog_dump.lineage_changed" { resume: String, from: String, error: String },
        DumpServerChanged = "source.binlog_dump.server_changed" { resume: String, from: String, was: String, now: String },
        DumpInvalidOptions = "source.binlog_dump.invalid_options" { resume: String, error: String },
        DumpFailed = "source.binlog_dump.failed" { resume: String, error: String },
        FormatRow = "source.binlog_format.ok" {},
        FormatWrong = "source.binlog_format.wrong" { value: String },
        RowImageFull = "source.binlog_row_image.ok" {},
        RowImageWrong = "source.binlog_row_image.wrong" { value: String },
        RowImageAbsent = "source.binlog_row_image.absent" {},
        ReplicationGranted = "source.privileges.replication.ok" {},
        ReplicationMissing = "source.privileges.replication.missing" { missing: String, roles: bool },
        RetentionUnknown = "source.binlog_retention.unknown" { start: u32 },
        RetentionOk = "source.binlog_retention.ok" { oldest: u32, start: u32 },
        RetentionPurged = "source.binlog_retention.purged" { oldest: u32, start: u32 },
        TablesOk = "source.tables.ok" { count: usize },
        TablesProblems = "source.tables.problems" { missing: String, not_tables: String },
        NamesOk = "source.names.ok" {},
        NamesChinese = "source.names.chinese" { names: String },
        ShardColumnsOk = "source.shard_columns.ok" {},
        ShardColumnsMissing = "source.shard_columns.missing" { columns: String },
    }
}

/// "resuming from the checkpoint's position P: " when the dump resumes, else nothing.
fn resuming(resume: &str) -> String {
    if resume.is_empty() {
        String::new()
    } else {
        format!("resuming from the checkpoint's position {resume}: ")
    }
}

impl Finding for SourceFinding {
    fn detail(&self) -> String {
        use SourceFinding::*;
        match self {
            Connected { address, user } => format!("connected to {address} as {user:?}"),
            ConnectDenied { flavor, address, user, error }
            | ConnectUnreachable { flavor, address, user, error } => {
                format!("cannot connect to the {flavor} source at {address} as {user:?}: {error}")
            }
            TlsFilesUnreadable { mode, address, error }
            | TlsNotOffered { mode, address, error }
            | TlsCertificateRefused { mode, address, error, .. }
            | TlsHandshakeFailed { mode, address, error } => {
                format!("TLS mode {mode}: cannot connect to {address}: {error}")
            }
            TlsOff {} => {
                "TLS is off (mode disabled): the password and the data cross the network in clear"
                    .into()
            }
            TlsPlainFallback { mode, address } => format!(
                "the server at {address} offers no TLS, so mode {mode} connected without it: the \
                 password and the data cross the network in clear"
            ),
            TlsOk { mode, negotiated, ca_file } => {
                let checked = match (mode.as_str(), ca_file) {
                    ("verify_identity", true) => {
                        "the certificate is signed by ca_file and names the host"
                    }
                    ("verify_identity", false) => {
                        "the certificate is signed by a CA the system trusts and names the host"
                    }
                    ("verify_ca", true) => {
                        "the certificate is signed by ca_file (its names are not checked)"
                    }
                    ("verify_ca", false) => {
                        "the certificate is signed by a CA the system trusts (its names are not checked)"
                    }
                    _ => "the server's certificate is not checked",
                };
                format!("mode {mode}: {negotiated}; {checked}")
            }
            MetadataFailed { errors } => format!("reading table metadata failed: {errors}"),
            ColumnTypesOk {} => "every column type is supported".into(),
            ColumnTypesUnsupported { columns } => columns.clone(),
            SelectOk { count } => {
                format!("the sync user can SELECT from all {count} existing selected tables")
            }
            SelectDenied { tables } => format!("the sync user cannot read {tables}"),
            VersionOk { server } => format!("the server is {server}"),
            VersionFlavorMismatch { declared, server, .. } => {
                format!("the data source is declared as {declared} but the server is {server}")
            }
            VersionOldOceanBase { server } => {
                format!("the server is {server}; obsync is tested with OceanBase CE 4.x")
            }
            VersionUnreadable { error } => format!("cannot read the server version: {error}"),
            BinlogOff { log_bin } => format!("binary logging is off (log_bin={log_bin})"),
            BinlogOk { files, oldest } => {
                format!("log_bin=ON; {files} binlog file(s) retained, oldest {oldest}")
            }
            BinlogRefused { error } => format!(
                "the server reports log_bin=ON but refuses SHOW BINARY LOGS: it has no binlog ({error})"
            ),
            BinlogNoFiles {} => {
                "the server reports log_bin=ON but lists no binlog files: it has no binlog".into()
            }
            BinlogListDenied { error } => {
                format!("log_bin=ON, but the sync user may not list the binlogs: {error}")
            }
            BinlogListFailed { error } => format!("log_bin=ON, but SHOW BINARY LOGS failed: {error}"),
            DumpOk { resume, mode, from } => format!(
                "{}the source accepted the binlog dump by {mode} from {from} and sent its first event",
                resuming(resume)
            ),
            DumpRefused { resume, at, error, .. } => format!(
                "{}the source refused the binlog dump {at}: the server answered: {error}",
                resuming(resume)
            ),
            DumpPurged { resume, from, error } => format!(
                "{}the source purged binlogs this project has not read from {from}: {error}",
                resuming(resume)
            ),
            DumpLineageChanged { resume, from, error } => format!(
                "{}the source's change log does not contain {from}: {error}; its binlog was reset (RESET MASTER), re-created or restored, or this is another server",
                resuming(resume)
            ),
            DumpServerChanged { resume, from, was, now } => format!(
                "{}the checkpoint at {from} was read from the server {was}, and the source is now {now}: a file position belongs to one server's binlog",
                resuming(resume)
            ),
            DumpInvalidOptions { resume, error } => format!("{}{error}", resuming(resume)),
            DumpFailed { resume, error } => {
                format!("{}cannot open the binlog dump: {error}", resuming(resume))
            }
            FormatRow {} => "binlog_format=ROW".into(),
            FormatWrong { value } => {
                format!("binlog_format={value}: incremental sync needs row images")
            }
            RowImageFull {} => "binlog_row_image=FULL".into(),
            RowImageWrong { value } => {
                format!("binlog_row_image={value}: updates and deletes would miss columns")
            }
            RowImageAbsent {} => "the server has no binlog_row_image variable (it always logs full rows before \
                 MySQL 5.6 / MariaDB 10.1.6)"
                .into(),
            ReplicationGranted {} => {
                "the sync user may read and list the binlogs (REPLICATION SLAVE and CLIENT)".into()
            }
            ReplicationMissing { missing, roles } => format!(
                "SHOW GRANTS does not list {} on *.*{}",
                missing.replace(", ", " and "),
                if *roles {
                    " (privileges granted through roles are not inspected)"
                } else {
                    ""
                }
            ),
            RetentionUnknown { start } => format!(
                "could not read when the oldest retained binlog starts, so start time {start} is unverified"
            ),
            RetentionOk { oldest, start } => format!(
                "the oldest retained binlog starts at {oldest}, before the start time {start}"
            ),
            RetentionPurged { oldest, start } => format!(
                "the start time {start} is before the oldest retained binlog ({oldest}): \
                 changes in between were purged"
            ),
            TablesOk { count } => {
                format!("all {count} selected tables exist and are physical tables")
            }
            TablesProblems { missing, not_tables } => {
                let mut detail = Vec::new();
                if !missing.is_empty() {
                    detail.push(format!(
                        "not found (or not visible to the sync user): {missing}"
                    ));
                }
                if !not_tables.is_empty() {
                    detail.push(format!("not physical tables: {not_tables}"));
                }
                detail.join("; ")
            }
            NamesOk {} => "no table or column name contains Chinese characters".into(),
            NamesChinese { names } => {
                format!("names with Chinese characters are not supported: {names}")
            }
            ShardColumnsOk {} => "every shard column exists on its table".into(),
            ShardColumnsMissing { columns } => format!("shard columns not found: {columns}"),
        }
    }

    fn fix(&self) -> String {
        use SourceFinding::*;
        match self {
            Connected { .. }
            | TlsOff {}
            | TlsOk { .. }
            | ColumnTypesOk {}
            | SelectOk { .. }
            | VersionOk { .. }
            | BinlogOk { .. }
            | DumpOk { .. }
            | FormatRow {}
            | RowImageFull {}
            | ReplicationGranted {}
            | RetentionOk { .. }
            | TablesOk { .. }
            | NamesOk {}
            | ShardColumnsOk {} => String::new(),
            ConnectDenied { .. } => {
                "check the user and password; for OceanBase write the user as user@tenant \
                 (user@tenant#cluster through OceanBase Database Proxy)"
                    .into()
            }
            ConnectUnreachable { address, .. } => format!(
                "check that the server is running and that {address} is reachable from obsync \
                 (host, port, firewall, the server's bind address)"
            ),
            TlsFilesUnreadable { .. } => {
                "check the CA, client certificate and key: readable PEM files (or text), the \
                 key belonging to the certificate"
                    .into()
            }
            TlsNotOffered { mode, .. } => format!(
                "the server offers no TLS, which mode {mode} needs: configure ssl_cert and \
                 ssl_key on the server (MySQL 8 and MariaDB 11.4 make their own), or choose \
                 mode preferred to allow a plain connection"
            ),
            TlsCertificateRefused { ca_file, host, .. } => {
                let ca = if *ca_file {
                    "the CA file (ca_file)"
                } else {
                    "a CA the system trusts (no ca_file is set)"
                };
                let name = if host.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; with verify_identity the certificate must also name {host:?} \
                         (subjectAltName), or use verify_ca"
                    )
                };
                format!(
                    "the server's certificate is not signed by {ca} or was refused: set ca_file \
                     to the CA that signed the server's certificate (the server's ssl_ca){name}"
                )
            }
            TlsHandshakeFailed { .. } => {
                "check the server's TLS setup (ssl_cert, ssl_key) and, for a user created \
                 REQUIRE X509, the client certificate and key"
                    .into()
            }
            TlsPlainFallback { .. } => {
                "enable TLS on the server (ssl_cert, ssl_key), then choose mode verify_identity \
                 (or required), so that a plain connection is refused"
                    .into()
            }
            MetadataFailed { .. } => {
                "check that the sync user may read information_schema and the tables".into()
            }
            ColumnTypesUnsupported { .. } => {
                "remove these tables from the selection, or change the column types".into()
            }
            SelectDenied { .. } => "GRANT SELECT ON each database (or table) TO the sync user".into(),
            VersionFlavorMismatch { flavor, .. } => format!("set the data source type to {flavor}"),
            VersionOldOceanBase { .. } => {
                "upgrade to OceanBase CE 4.x, or verify the sync on a test project first".into()
            }
            VersionUnreadable { .. } => {
                "check that the server speaks the MySQL protocol (OceanBase: the MySQL tenant)"
                    .into()
            }
            BinlogOff { .. } => "enable the binary log (log_bin in the server configuration, with binlog_format=ROW) \
                 and restart the server, or turn off incremental sync"
                .into(),
            BinlogRefused { .. } | BinlogNoFiles {} => {
                "for OceanBase CE enable the Binlog Service, or turn off incremental sync".into()
            }
            BinlogListDenied { .. } => {
                "GRANT REPLICATION CLIENT ON *.* TO the sync user (MariaDB 10.5+: BINLOG MONITOR)"
                    .into()
            }
            BinlogListFailed { .. } => {
                "check the server's error log; incremental sync needs a readable binary log".into()
            }
            DumpRefused { advice, .. } => advice.clone(),
            DumpPurged { .. } => "restart the project from a snapshot (or a chosen start time), and keep binlogs longer than the longest stop (binlog_expire_logs_seconds / expire_logs_days)".into(),
            DumpLineageChanged { .. } => "if [source] names the right server, restart the project from a snapshot (or a chosen start time); otherwise point it back at the server the project was reading".into(),
            DumpServerChanged { .. } => "if this is a failover within one GTID history, set binlog_positioning = \"gtid\" in [source]; otherwise restart the project from a snapshot (or a chosen start time)".into(),
            DumpInvalidOptions { .. } => {
                "change source.binlog_positioning or the source's GTID settings as the message says"
                    .into()
            }
            DumpFailed { .. } => "check the source.binlog and source.privileges.replication items and that the server is reachable".into(),
            FormatWrong { .. } => "SET GLOBAL binlog_format = 'ROW' and set it in the server configuration so it \
                 survives a restart"
                .into(),
            RowImageWrong { .. } => {
                "SET GLOBAL binlog_row_image = 'FULL' and set it in the server configuration".into()
            }
            RowImageAbsent {} => {
                "no action needed unless the server is configured for minimal row images".into()
            }
            ReplicationMissing { missing, .. } => format!("GRANT {missing} ON *.* TO the sync user"),
            RetentionUnknown { .. } => "check SHOW BINARY LOGS and the binlog retention (expire_logs_days / binlog_expire_logs_seconds)".into(),
            RetentionPurged { oldest, .. } => format!(
                "choose a start time at or after {oldest}, enable full sync, or keep binlogs \
                 longer (expire_logs_days / binlog_expire_logs_seconds)"
            ),
            TablesProblems { .. } => "remove these objects from the selection (only physical tables can be synced), or \
                 create the missing tables / GRANT SELECT on them"
                .into(),
            NamesChinese { .. } => {
                "rename these tables or columns, or remove the tables from the selection".into()
            }
            ShardColumnsMissing { .. } => "pick existing columns of the table as shard columns, or clear them to shard by the \
                 primary key"
                .into(),
        }
    }
}
