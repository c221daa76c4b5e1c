// Decodes obsync's Maxwell and Canal records with Apache Flink's own deserializers
// (flink-json's `maxwell-json` and `canal-json` formats) and prints the changelog rows
// they produce, for crates/obsync/tests/e2e_flink_formats.rs to rebuild the source table.
//
// Usage: java -cp 'libs/*' FlinkFormats.java <maxwell-json|canal-json> <name:TYPE;...>
// stdin: one Kafka record value per line, as hex; stdout: one JSON object per row Flink
// emitted, {"kind": INSERT|UPDATE_BEFORE|UPDATE_AFTER|DELETE, "row": {column: text}}, or
// {"error": …} for a record Flink refused. TYPE is INT, BIGINT, DECIMAL(p,s), STRING,
// BYTES or TIMESTAMP(p); values print as Java prints them, BYTES as lower-case hex,
// TIMESTAMP as `yyyy-MM-dd HH:mm:ss.ffffff`.
// (tests/consumers/ConsumerCheck.java is the harness of the Debezium formats; this mode
// pair can move into it as its `maxwell-json` and `canal-json` modes.)
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.java.typeutils.GenericTypeInfo;
import org.apache.flink.formats.common.TimestampFormat;
import org.apache.flink.formats.json.canal.CanalJsonDeserializationSchema;
import org.apache.flink.formats.json.maxwell.MaxwellJsonDeserializationSchema;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.DecimalType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.TimestampType;
import org.apache.flink.util.Collector;
import org.apache.flink.util.SimpleUserCodeClassLoader;
import org.apache.flink.util.UserCodeClassLoader;

public class FlinkFormats {
  public static void main(String[] args) throws Exception {
    List<String> names = new ArrayList<>();
    List<LogicalType> types = new ArrayList<>();
    List<DataTypes.Field> fields = new ArrayList<>();
    for (String c : args[1].split(";")) {
      String[] nt = c.split(":", 2);
      DataType t = type(nt[1]);
      names.add(nt[0]);
      types.add(t.getLogicalType());
      fields.add(DataTypes.FIELD(nt[0], t));
    }
    DataType row = DataTypes.ROW(fields.toArray(new DataTypes.Field[0]));
    DeserializationSchema<RowData> schema = switch (args[0]) {
      case "maxwell-json" -> new MaxwellJsonDeserializationSchema(
          row, Collections.emptyList(), new GenericTypeInfo<>(RowData.class), false, TimestampFormat.SQL);
      case "canal-json" -> CanalJsonDeserializationSchema.builder(
              row, Collections.emptyList(), new GenericTypeInfo<>(RowData.class))
          .setIgnoreParseErrors(false)
          .setTimestampFormat(TimestampFormat.SQL)
          .build();
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    };
    schema.open(new DeserializationSchema.InitializationContext() {
      public MetricGroup getMetricGroup() { return new UnregisteredMetricsGroup(); }
      public UserCodeClassLoader getUserCodeClassLoader() {
        return SimpleUserCodeClassLoader.create(FlinkFormats.class.getClassLoader());
      }
    });
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      if (line.isEmpty()) continue;
      List<RowData> rows = new ArrayList<>();
      try {
        schema.deserialize(HexFormat.of().parseHex(line), new Collector<RowData>() {
          public void collect(RowData r) { rows.add(r); }
          public void close() {}
        });
      } catch (Exception e) {
        System.out.println("{\"error\":" + quote(e + (e.getCause() == null ? "" : ": " + e.getCause())) + "}");
        continue;
      }
      for (RowData r : rows) {
        StringBuilder out = new StringBuilder("{\"kind\":\"").append(r.getRowKind().name()).append("\",\"row\":{");
        for (int i = 0; i < names.size(); i++) {
          if (i > 0) out.append(',');
          out.append(quote(names.get(i))).append(':');
          String v = value(r, i, types.get(i));
          out.append(v == null ? "null" : quote(v));
        }
        System.out.println(out.append("}}"));
      }
    }
  }

  static DataType type(String t) {
    if (t.startsWith("DECIMAL(")) {
      String[] ps = t.substring(8, t.length() - 1).split(",");
      return DataTypes.DECIMAL(Integer.parseInt(ps[0].trim()), Integer.parseInt(ps[1].trim()));
    }
    if (t.startsWith("TIMESTAMP(")) return DataTypes.TIMESTAMP(Integer.parseInt(t.substring(10, t.length() - 1)));
    return switch (t) {
      case "INT" -> DataTypes.INT();
      case "BIGINT" -> DataTypes.BIGINT();
      case "STRING" -> DataTypes.STRING();
      case "BYTES" -> DataTypes.BYTES();
      default -> throw new IllegalArgumentException("unsupported type " + t);
    };
  }

  static String value(RowData r, int i, LogicalType t) {
    if (r.isNullAt(i)) return null;
    return switch (t.getTypeRoot()) {
      case INTEGER -> Integer.toString(r.getInt(i));
      case BIGINT -> Long.toString(r.getLong(i));
      case DECIMAL -> {
        DecimalType d = (DecimalType) t;
        DecimalData v = r.getDecimal(i, d.getPrecision(), d.getScale());
        yield v.toBigDecimal().toPlainString();
      }
      case VARCHAR, CHAR -> r.getString(i).toString();
      case VARBINARY, BINARY -> HexFormat.of().formatHex(r.getBinary(i));
      case TIMESTAMP_WITHOUT_TIME_ZONE -> r.getTimestamp(i, ((TimestampType) t).getPrecision())
          .toLocalDateTime().format(java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS"));
      default -> throw new IllegalArgumentException("unsupported type " + t);
    };
  }

  static String quote(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }
}
