//! Every message code the server can send the console, with the names of its
//! parameters: the API's error codes, the state events and the precheck findings of every crate. Published
//! as `docs/message-codes.json` (a test keeps it equal to this list), which the console's
//! dictionary test reads: a code without a text in zh-CN or en, or a text naming a
//! parameter its code does not carry, fails it.

use std::collections::BTreeMap;

use obsync_model::{MessageCode, NOT_CHECKED_CODE};

use crate::api::error::ErrorCode;

/// The codes by family (`errors`, `events`, `precheck`), each with its parameters' names.
pub fn catalog() -> BTreeMap<&'static str, BTreeMap<&'static str, Vec<&'static str>>> {
    fn family(
        lists: &[&[(&'static str, &'static [&'static str])]],
    ) -> BTreeMap<&'static str, Vec<&'static str>> {
        let mut out = BTreeMap::new();
        for (code, params) in lists.iter().flat_map(|l| l.iter()) {
            let previous = out.insert(*code, params.to_vec());
            assert!(previous.is_none(), "message code {code} is declared twice");
        }
        out
    }
    BTreeMap::from([
        ("errors", family(&[ErrorCode::CODES])),
        (
            "rules",
            family(&[
                obsync_config::RuleMessage::CODES,
                crate::error::InputRule::CODES,
            ]),
        ),
        (
            "connection",
            family(&[crate::api::datasources::TestSummary::CODES]),
        ),
        (
            "events",
            family(&[
                crate::transition::StateMessage::CODES,
                obsync_pipeline::NoticeMessage::CODES,
                obsync_pipeline::WarningMessage::CODES,
                crate::audit::AuditMessage::CODES,
                crate::runtime::RunMessage::CODES,
                crate::verify_runs::VerifyMessage::CODES,
            ]),
        ),
        (
            "precheck",
            family(&[
                obsync_source::precheck::findings::SourceFinding::CODES,
                obsync_source::precheck::binlog_origin::OriginFinding::CODES,
                obsync_kafka::precheck::findings::KafkaFinding::CODES,
                obsync_pipeline::precheck::ProjectFinding::CODES,
                crate::objects::ChangeFinding::CODES,
                &[(NOT_CHECKED_CODE, &[])],
            ]),
        ),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_message_codes_json_is_the_catalog() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/message-codes.json");
        let current = serde_json::to_string_pretty(&super::catalog()).unwrap() + "\n";
        if std::env::var_os("OBSYNC_UPDATE_MESSAGE_CODES").is_some() {
            std::fs::write(path, &current).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == current,
            "docs/message-codes.json differs from the server's codes: run \
             OBSYNC_UPDATE_MESSAGE_CODES=1 cargo test -p obsync-server --lib message_codes"
        );
    }
}
