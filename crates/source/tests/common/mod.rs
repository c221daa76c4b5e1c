//! How the source crate's tests and benches reach the database servers.
#![allow(dead_code)] // each test binary uses a different subset

use obsync_source::tls::{SourceTls, TlsMode};
use obsync_source::{SourceEndpoint, SourceFlavor};
use obsync_testkit::{Services, SqlServer};

/// The shared local server of `flavor`: seekdb for OceanBase, MariaDB otherwise.
pub fn endpoint(flavor: SourceFlavor) -> SourceEndpoint {
    let services = Services::load();
    let server = match flavor {
        SourceFlavor::OceanBase => services.seekdb,
        _ => services.mariadb,
    };
    endpoint_of(flavor, server)
}

/// `server` (shared or private) as a source of `flavor`.
pub fn endpoint_of(flavor: SourceFlavor, server: SqlServer) -> SourceEndpoint {
    SourceEndpoint {
        flavor,
        host: server.host,
        port: server.port,
        user: server.user,
        password: server.password,
        // The shared servers offer no TLS; TLS has its own tests (crates/pipeline/tests/source_tls.rs).
        tls: SourceTls {
            mode: TlsMode::Disabled,
            ..Default::default()
        },
    }
}
