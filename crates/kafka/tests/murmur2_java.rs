//! Our murmur2 partitioning equals the Java client's, computed by the real kafka-clients jar
//! (`kafka_libs` from the shared services) in a single-file Java program.

use std::process::Command;

use obsync_kafka::partitioner::{murmur2, to_positive};
use obsync_kafka::PartitionRule;
use obsync_testkit::Services;

const JAVA: &str = r#"
import org.apache.kafka.common.utils.Utils;
import java.nio.file.*;
import java.util.HexFormat;

public class Murmur2 {
    public static void main(String[] args) throws Exception {
        for (String line : Files.readAllLines(Path.of(args[0]))) {
            byte[] key = HexFormat.of().parseHex(line);
            int h = Utils.murmur2(key);
            System.out.println(h + " " + Utils.toPositive(h) % 3 + " " + Utils.toPositive(h) % 7);
        }
    }
}
"#;

fn keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"1".to_vec(),
        b"12".to_vec(),
        b"123".to_vec(),
        b"1234".to_vec(),
        b"hello".to_vec(),
        "订单编号".as_bytes().to_vec(),
        "中文\u{1}键".as_bytes().to_vec(),
        b"42\x01alice\x012024-01-01 00:00:00".to_vec(),
        b"\x01".to_vec(),
        b"\x00\xff\x80\x7f".to_vec(),
        "x".repeat(10_000).into_bytes(),
    ];
    // Every length 0..=64 over a byte pattern that covers the high bit and sign extension.
    for len in 0..=64u32 {
        keys.push((0..len).map(|i| (i * 37 + 200) as u8).collect());
    }
    keys
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn murmur2_equals_java() {
    let services = Services::load();
    let dir = std::env::temp_dir().join(obsync_testkit::unique_name("murmur2"));
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("Murmur2.java");
    let input = dir.join("keys.txt");
    std::fs::write(&program, JAVA).unwrap();
    let keys = keys();
    let lines: Vec<String> = keys.iter().map(|k| hex(k)).collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();

    let mut classpath = services.kafka_libs.into_os_string();
    classpath.push("/*");
    let out = Command::new("java")
        .arg("-cp")
        .arg(classpath)
        .arg(&program)
        .arg(&input)
        .output()
        .expect("running java (Java 17+ runs single-file programs)");
    assert!(
        out.status.success(),
        "java failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let java: Vec<&str> = stdout.lines().collect();
    assert_eq!(java.len(), keys.len());
    for (key, line) in keys.iter().zip(java) {
        let ours = murmur2(key);
        let expected = format!(
            "{ours} {} {}",
            to_positive(ours) % 3,
            PartitionRule::Hash.partition(key, 7)
        );
        assert_eq!(line, expected, "key {}", hex(key));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
