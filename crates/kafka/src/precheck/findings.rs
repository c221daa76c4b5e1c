//! What the Kafka precheck finds, as codes with typed parameters: each variant writes the
//! English `detail` and `fix` the CLI prints; the console says the same by code.

use obsync_model::{message_codes, Finding};

message_codes! {
    /// A finding of a Kafka precheck item.
    pub enum KafkaFinding {
        Connected = "kafka.connectivity.ok" { servers: String, brokers: usize, ids: String },
        Unreachable = "kafka.connectivity.failed" { servers: String, reason: String, sasl: bool, tls: bool },
        NoKerberosTicket = "kafka.connectivity.no_kerberos_ticket" { reason: String },
        KerberosPrincipalUnknown = "kafka.connectivity.kerberos_principal_unknown" { reason: String, service: String },
        SaslRefused = "kafka.connectivity.sasl_refused" { reason: String, mechanism: String },
        CertificateExpired = "kafka.connectivity.certificate_expired" { reason: String },
        HostnameMismatch = "kafka.connectivity.hostname_mismatch" { reason: String },
        CertificateUntrusted = "kafka.connectivity.certificate_untrusted" { reason: String },
        ClientCertificateWanted = "kafka.connectivity.client_certificate_wanted" { reason: String },
        TlsHandshakeFailed = "kafka.connectivity.tls_handshake_failed" { reason: String },
        MechanismRefused = "kafka.connectivity.mechanism_refused" { reason: String, mechanism: String },
        VersionOk = "kafka.version.ok" { version: String },
        V09SchemaSync = "kafka.version.v0_9_schema_sync" {},
        V09 = "kafka.version.v0_9" {},
        BrokerVersionUnread = "kafka.broker_version.unread" { error: String },
        BrokerVersionUnreachable = "kafka.broker_version.unreachable" {},
        BrokerTooOld = "kafka.broker_version.too_old" { at: String, version: String, evidence: String },
        BrokerVersionMismatch = "kafka.broker_version.mismatch" { declared: String, at: String, version: String, evidence: String, value: String },
        ZstdUnsupported = "kafka.broker_version.zstd_unsupported" { at: String, version: String, evidence: String },
        BrokerVersionOk = "kafka.broker_version.ok" { at: String, version: String, evidence: String },
        TopicUnchecked = "kafka.topic.unchecked" { topic: String },
        TopicExists = "kafka.topic.exists" { topic: String, partitions: i32 },
        TopicMissing = "kafka.topic.missing" { topic: String, partitions: i32 },
        TopicReplicationTooHigh = "kafka.topic.replication_too_high" { topic: String, replication: i32, brokers: usize },
        TopicWillBeCreated = "kafka.topic.will_be_created" { topic: String, partitions: i32, replication: i32 },
        KinitTimeout = "kafka.kerberos.kdc_timeout" { principal: String, timeout: String },
        KinitMissing = "kafka.kerberos.kinit_missing" {},
        KinitNotRunnable = "kafka.kerberos.kinit_not_runnable" { error: String },
        KerberosTicket = "kafka.kerberos.ok" { principal: String, keytab: String },
        KdcRefused = "kafka.kerberos.refused" { principal: String, said: String, advice: String },
    }
}

impl Finding for KafkaFinding {
    fn detail(&self) -> String {
        use KafkaFinding::*;
        match self {
            Connected { servers, brokers, ids } => {
                format!("connected to {servers}: {brokers} broker(s), ids {ids}")
            }
            Unreachable { reason, .. }
            | NoKerberosTicket { reason }
            | KerberosPrincipalUnknown { reason, .. }
            | SaslRefused { reason, .. }
            | CertificateExpired { reason }
            | HostnameMismatch { reason }
            | CertificateUntrusted { reason }
            | ClientCertificateWanted { reason }
            | TlsHandshakeFailed { reason }
            | MechanismRefused { reason, .. } => reason.clone(),
            VersionOk { version } => format!(
                "configured for Kafka {version} (version in [target]): idempotent producer, topic \
                 creation available"
            ),
            V09SchemaSync {} => {
                "Kafka 0.9 cannot create topics through the protocol, so schema sync is unavailable"
                    .into()
            }
            V09 {} => "Kafka 0.9: no idempotent producer, so obsync sends one request at a time per \
                 broker to keep order (lower throughput); schema sync is unavailable"
                .into(),
            BrokerVersionUnread { error } => {
                format!("the broker's version could not be read: {error}")
            }
            BrokerVersionUnreachable {} => {
                "the broker's version was not read: Kafka is unreachable".into()
            }
            BrokerTooOld { at, version, evidence } => format!(
                "the broker at {at} is Kafka {version}: it {evidence}; obsync supports 0.9 and 1.0 \
                 or later"
            ),
            BrokerVersionMismatch { declared, at, version, evidence, .. } => format!(
                "target.version is \"{declared}\" but the broker at {at} is Kafka {version}: it {evidence}"
            ),
            ZstdUnsupported { at, version, evidence } => format!(
                "compression \"zstd\" needs Kafka 2.1 or later but the broker at {at} is \
                 Kafka {version}: it {evidence}"
            ),
            BrokerVersionOk { at, version, evidence } => format!(
                "the broker at {at} is Kafka {version}, as target.version says: it {evidence}"
            ),
            TopicUnchecked { topic } => {
                format!("topic \"{topic}\" not checked: Kafka is unreachable")
            }
            TopicExists { topic, partitions } => {
                format!("topic \"{topic}\" exists with {partitions} partition(s)")
            }
            TopicMissing { topic, .. } => {
                format!("topic \"{topic}\" does not exist and schema sync is off")
            }
            TopicReplicationTooHigh { topic, replication, brokers } => format!(
                "topic \"{topic}\" would need replication factor {replication} but the cluster has {brokers} broker(s)"
            ),
            TopicWillBeCreated { topic, partitions, replication } => format!(
                "topic \"{topic}\" does not exist yet: schema sync will create it with {partitions} partition(s), \
                 replication factor {replication}"
            ),
            KinitTimeout { principal, timeout } => {
                format!("kinit for {principal} got no answer from the KDC within {timeout}")
            }
            KinitMissing {} => "kinit is not installed: obsync needs it to get Kerberos tickets".into(),
            KinitNotRunnable { error } => format!("kinit could not be run: {error}"),
            KerberosTicket { principal, keytab } => {
                format!("the KDC issued a ticket for {principal} from the keytab {keytab}")
            }
            KdcRefused { principal, said, .. } => {
                format!("the KDC refused a ticket for {principal}: {said}")
            }
        }
    }

    fn fix(&self) -> String {
        use KafkaFinding::*;
        match self {
            Connected { .. }
            | VersionOk { .. }
            | BrokerVersionOk { .. }
            | TopicExists { .. }
            | TopicWillBeCreated { .. }
            | KerberosTicket { .. } => String::new(),
            Unreachable { servers, sasl, tls, .. } => format!(
                "check that {servers} is the right host:port list, that the brokers run and advertise \
                 listeners this host can reach, and that the security settings (SASL: {}, TLS: {}) \
                 match the broker's listener",
                if *sasl { "on" } else { "off" },
                if *tls { "on" } else { "off" },
            ),
            NoKerberosTicket { .. } => {
                "no Kerberos ticket was in the credential cache: the kafka.kerberos item says why"
                    .into()
            }
            KerberosPrincipalUnknown { service, .. } => format!(
                "the KDC knows no principal {service}/<broker host>@REALM: set \
                 target.sasl.kerberos_service_name to the first part of the brokers' principal, \
                 and connect to the brokers by the host name their principal names"
            ),
            SaslRefused { mechanism, .. } => format!(
                "SASL {mechanism} authentication was refused: check target.sasl username and \
                 password (or password_env); for SCRAM the user must exist on the cluster with \
                 credentials for {mechanism} (kafka-configs.sh --alter --entity-type users \
                 --add-config '{mechanism}=[password=...]')"
            ),
            CertificateExpired { .. } => "the broker's TLS certificate has expired: renew it on the broker (obsync will not \
                 accept an expired certificate)"
                .into(),
            HostnameMismatch { .. } => "the broker's TLS certificate does not name the host in target.bootstrap_servers: \
                 connect by a name the certificate lists, reissue it, or set target.tls \
                 verify_hostname = false"
                .into(),
            CertificateUntrusted { .. } => "the broker's TLS certificate is not signed by a CA obsync trusts: set target.tls \
                 ca_file to the PEM file of the CA that signed it"
                .into(),
            ClientCertificateWanted { .. } => "the broker wants a client certificate it trusts (mutual TLS): set target.tls \
                 cert_file and key_file to a certificate signed by a CA in the broker's truststore"
                .into(),
            TlsHandshakeFailed { .. } => "the TLS handshake failed: check that the listener is TLS (target.tls on) or \
                 plaintext (target.tls off), and the certificates"
                .into(),
            MechanismRefused { mechanism, .. } => format!(
                "the broker does not accept SASL {mechanism} on this listener: use a mechanism in \
                 its sasl.enabled.mechanisms, or check target.sasl and target.tls"
            ),
            V09SchemaSync {} => "turn schema sync off and create the topics with kafka-topics.sh, or use Kafka 1.0 \
                 or later"
                .into(),
            V09 {} => "use Kafka 1.0 or later for higher throughput".into(),
            BrokerVersionUnread { .. } => {
                "make sure target.version names the brokers' Kafka version".into()
            }
            BrokerVersionUnreachable {} | TopicUnchecked { .. } => {
                "fix kafka.connectivity first".into()
            }
            BrokerTooOld { .. } => "upgrade the brokers to Kafka 1.0 or later".into(),
            BrokerVersionMismatch { value, .. } => {
                format!("set version = \"{value}\" in the [target] table of the project file")
            }
            ZstdUnsupported { .. } => {
                "set compression = \"lz4\" (or gzip, snappy) in [target], or upgrade the brokers"
                    .into()
            }
            TopicMissing { topic, partitions } => format!(
                "create it (kafka-topics.sh --create --topic {topic} --partitions {partitions}), map the \
                 table to an existing topic, or turn schema sync on"
            ),
            TopicReplicationTooHigh { .. } => {
                "lower the replication factor or create the topic by hand".into()
            }
            KinitTimeout { .. } => "check that the realm's KDC is reachable from this host (the [realms] kdc of \
                 krb5.conf, or the file KRB5_CONFIG names)"
                .into(),
            KinitMissing {} => "install the MIT Kerberos client (Debian/Ubuntu: apt install krb5-user \
                 libsasl2-modules-gssapi-mit; RHEL: dnf install krb5-workstation cyrus-sasl-gssapi)"
                .into(),
            KinitNotRunnable { .. } => {
                "check that kinit is executable by the user obsync runs as".into()
            }
            KdcRefused { advice, .. } => advice.clone(),
        }
    }
}
