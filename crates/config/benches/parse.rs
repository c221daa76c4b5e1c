//! Project-file loading cost against the number of `[[objects]]` entries: it must grow
//! linearly (a server imports files users send; 40,000 entries were 20+ minutes when each
//! entry re-parsed the whole text).
//!
//! `cargo bench -p obsync-config --bench parse`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use obsync_config::{Environment, ProjectConfig};

/// A valid project file with `objects` entries, each one table to its own topic.
fn project_file(objects: usize) -> String {
    let mut text = String::from(
        r#"[project]
name = "bench"

[source]
kind = "mariadb"
host = "127.0.0.1"
port = 3306
user = "obsync"
password = "secret"

[target]
bootstrap_servers = "127.0.0.1:9092"
version = "3.x"

[sync]
types = ["schema", "full", "incremental"]
format = "Default"
"#,
    );
    for i in 0..objects {
        text.push_str(&format!(
            "\n[[objects]]\ntables = [\"shop.t{i}\"]\ntopic = \"topic_{i}\"\n"
        ));
    }
    text
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("project_file");
    group.sample_size(10);
    let env = Environment::fixed(1_790_000_000, [("UNUSED", "")]);
    for objects in [1_000, 10_000, 40_000] {
        let text = project_file(objects);
        group.throughput(Throughput::Elements(objects as u64));
        group.bench_with_input(BenchmarkId::new("objects", objects), &text, |b, text| {
            b.iter(|| {
                ProjectConfig::parse_with(text, "bench.toml", &env).expect("the file is valid")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
