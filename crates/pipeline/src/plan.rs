//! Resolves a project's object rules against the source: which physical tables are
//! synced, to which topic, with which shard columns.

use obsync_config::{contains_chinese, ProjectConfig};
use obsync_model::{TableId, TableMeta};
use obsync_source::metadata::{MetadataReader, ServerInfo, TableKind};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One synced table.
#[derive(Debug, Clone)]
pub struct TablePlan {
    pub meta: Arc<TableMeta>,
    pub topic: String,
    pub shard_columns: Option<Vec<String>>,
}

/// The resolved project: synced tables, and objects that matched a rule but cannot be
/// synced (views, other objects) with the reason, shown to the user.
#[derive(Debug, Clone)]
pub struct ProjectPlan {
    pub tables: BTreeMap<TableId, TablePlan>,
    pub excluded: Vec<(TableId, String)>,
    /// The source, identified once: the stages pass it on instead of asking again.
    pub server: ServerInfo,
}

impl ProjectPlan {
    /// Every topic with the tables routed to it.
    pub fn topics(&self) -> BTreeMap<&str, Vec<&TableId>> {
        let mut m: BTreeMap<&str, Vec<&TableId>> = BTreeMap::new();
        for (id, t) in &self.tables {
            m.entry(t.topic.as_str()).or_default().push(id);
        }
        m
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Metadata(#[from] obsync_source::metadata::MetadataError),
    #[error("no physical table at the source matches the project's [[objects]] rules; check the database and table names (matching is case-sensitive) and that the source user can see them")]
    NothingMatched,
    #[error("table {table} matches the project but its name contains Chinese characters, which Kafka consumers of OMS formats cannot take; rename the table or exclude it")]
    ChineseTableName { table: TableId },
    #[error("column {column:?} of {table} contains Chinese characters; rename the column or exclude the table")]
    ChineseColumnName { table: TableId, column: String },
    #[error(transparent)]
    Route(#[from] obsync_config::InvalidTopicName),
    #[error("[[objects]] names {} that the source does not have; check the names (matching is case-sensitive) and that the source user can see them, or remove them from the rules", list(.0))]
    NamedTablesMissing(Vec<TableId>),
}

fn list(tables: &[TableId]) -> String {
    let names: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
    names.join(", ")
}

/// Lists the source's tables and applies the project's rules.
pub async fn resolve(
    config: &ProjectConfig,
    reader: &MetadataReader,
) -> Result<ProjectPlan, PlanError> {
    let mut plan = ProjectPlan {
        tables: BTreeMap::new(),
        excluded: Vec::new(),
        server: reader.server_info().await?,
    };
    // Without the server's system schemas (`obsync_source::metadata::SYSTEM_DATABASES`).
    let databases: Vec<String> = reader.list_databases().await?;
    let listings = reader.list_tables(Some(&databases)).await?;
    // A table named without wildcards that does not exist is a mistake (a typo, a wrong
    // case), never something to skip silently.
    let missing: BTreeSet<TableId> = config
        .objects
        .iter()
        .flat_map(|rule| {
            rule.include
                .iter()
                .filter_map(|p| p.exact())
                .filter(|id| rule.selects(id))
        })
        .filter(|id| !listings.iter().any(|l| &l.id == id))
        .collect();
    if !missing.is_empty() {
        return Err(PlanError::NamedTablesMissing(missing.into_iter().collect()));
    }
    for listing in listings {
        let route = match config.route(&listing.id) {
            Ok(Some(route)) => route,
            Ok(None) => continue,
            Err(e) => return Err(PlanError::Route(e)),
        };
        match listing.kind {
            TableKind::Table => {}
            other => {
                plan.excluded.push((
                    listing.id.clone(),
                    format!("{other:?} is not a physical table; only tables are synced"),
                ));
                continue;
            }
        }
        if contains_chinese(&listing.id.database) || contains_chinese(&listing.id.table) {
            return Err(PlanError::ChineseTableName { table: listing.id });
        }
        let meta = reader.table_meta(&listing.id).await?;
        if let Some(c) = meta.columns.iter().find(|c| contains_chinese(&c.name)) {
            return Err(PlanError::ChineseColumnName {
                table: listing.id,
                column: c.name.clone(),
            });
        }
        plan.tables.insert(
            listing.id,
            TablePlan {
                meta: Arc::new(meta),
                topic: route.topic.as_str().to_string(),
                shard_columns: route.shard_columns,
            },
        );
    }
    if plan.tables.is_empty() {
        return Err(PlanError::NothingMatched);
    }
    Ok(plan)
}
