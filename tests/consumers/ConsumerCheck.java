// Decodes obsync's Kafka records with real consumer libraries and prints what they
// decoded, one JSON object per line, for the Rust end-to-end tests to compare with the
// source tables (crates/obsync/tests/e2e_debezium.rs, e2e_flink_formats.rs, e2e_avro.rs).
// Runs from source, one JVM for every job:
//
//   java -cp '<libs>/*' ConsumerCheck.java <jobs.json>
//
// jobs.json: {"bootstrap": "host:port", "jobs": [{"name", "mode", "topic", ...}]}. Each
// job reads one topic from its first offset to the end offsets of when it started.
//
// Modes (add one: a case in `decoderFor` and a class implementing `Decoder`):
//   debezium-json         Flink's DebeziumJsonDeserializationSchema ("schema_include":
//                         true for records with the JSON converter's schema); the job
//                         lists "columns": [{"name", "type": Flink SQL type}]. Prints
//                         {"kind": INSERT|UPDATE_BEFORE|UPDATE_AFTER|DELETE, "row"}.
//   connect-json          Kafka Connect's JsonConverter (schemas enabled) for key,
//                         value and the key-change headers. Prints {"op", "key",
//                         "before", "after", "headers", "newkey"/"oldkey", "schema"
//                         (field -> "type name params", first record of each table)}.
//   maxwell-json          Flink's MaxwellJsonDeserializationSchema, the same columns
//                         and lines as debezium-json (TimestampFormat SQL).
//   canal-json            Flink's CanalJsonDeserializationSchema, likewise.
//   avro                  Apache Avro's GenericDatumReader the way Confluent's and
//                         Apicurio's deserializers read: the 5-byte header (magic 0,
//                         big-endian schema id) stripped, the writer's schema fetched by
//                         id from the job's "registry" (Confluent-compatible API,
//                         GET /schemas/ids/{id}). Prints {"key_schema", "value_schema",
//                         "key", "key_null" (the Kafka key is null), "value"} (records as objects; decimals, dates and
//                         timestamps through Avro's logical-type conversions as text,
//                         bytes as Base64, time-micros as a number: LocalTime cannot hold
//                         MySQL's ±838 hours), and on the first record of each value
//                         schema "defaults": the Value record's non-null field defaults.
//
// Flink's column types: TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, BOOLEAN, BYTES,
// STRING, DATE (printed yyyy-MM-dd), DECIMAL(p,s), TIMESTAMP(p), TIMESTAMP_LTZ(6).
//
// Avro and Kafka Connect share one Jackson (Flink's is shaded): Maven picks one version
// for both, which each works with.
//
// Values are printed in one neutral text whatever the library returned: integers and
// booleans as Java prints them, FLOAT/DOUBLE by Float/Double.toString, decimals by
// BigDecimal.toPlainString, bytes as lower-case hex, instants (ZonedTimestamp,
// TIMESTAMP_LTZ) as "epochSeconds.micros", a Geometry struct as hex of its SRID
// (little-endian int32) followed by its WKB, everything else as its string.

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.avro.Conversions;
import org.apache.avro.JsonProperties;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.java.typeutils.GenericTypeInfo;
import org.apache.flink.formats.common.TimestampFormat;
import org.apache.flink.formats.json.canal.CanalJsonDeserializationSchema;
import org.apache.flink.formats.json.debezium.DebeziumJsonDeserializationSchema;
import org.apache.flink.formats.json.maxwell.MaxwellJsonDeserializationSchema;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.DecimalType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.TimestampType;
import org.apache.flink.util.Collector;
import org.apache.flink.util.SimpleUserCodeClassLoader;
import org.apache.flink.util.UserCodeClassLoader;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.connect.data.Decimal;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.json.JsonConverter;

public class ConsumerCheck {
    static final ObjectMapper JSON = new ObjectMapper();

    /** Turns one Kafka record into output lines. */
    interface Decoder {
        void decode(ConsumerRecord<byte[], byte[]> rec, ObjectNode base, List<ObjectNode> out)
                throws Exception;
    }

    public static void main(String[] args) throws Exception {
        JsonNode spec = JSON.readTree(new File(args[0]));
        String bootstrap = spec.get("bootstrap").asText();
        for (JsonNode job : spec.get("jobs")) {
            Decoder decoder = decoderFor(job);
            for (ConsumerRecord<byte[], byte[]> rec : readTopic(bootstrap, job.get("topic").asText())) {
                ObjectNode base = JSON.createObjectNode();
                base.put("job", job.get("name").asText());
                base.put("partition", rec.partition());
                base.put("offset", rec.offset());
                List<ObjectNode> out = new ArrayList<>();
                try {
                    decoder.decode(rec, base, out);
                } catch (Exception e) {
                    ObjectNode err = base.deepCopy();
                    err.put("error", e.toString());
                    out.add(err);
                }
                for (ObjectNode line : out) {
                    System.out.println(JSON.writeValueAsString(line));
                }
            }
        }
        System.out.flush();
    }

    static Decoder decoderFor(JsonNode job) throws Exception {
        String mode = job.get("mode").asText();
        switch (mode) {
            case "debezium-json":
            case "maxwell-json":
            case "canal-json":
                return new FlinkChangelog(job);
            case "avro":
                return new AvroRegistry(job);
            case "connect-json":
                return new ConnectJson();
            default:
                throw new IllegalArgumentException("unknown mode " + mode);
        }
    }

    /** Every record of `topic` up to the end offsets at the start, in partition order. */
    static List<ConsumerRecord<byte[], byte[]>> readTopic(String bootstrap, String topic) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("enable.auto.commit", "false");
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> parts = new ArrayList<>();
            c.partitionsFor(topic, Duration.ofSeconds(30))
                    .forEach(i -> parts.add(new TopicPartition(topic, i.partition())));
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            Set<TopicPartition> open = new HashSet<>();
            for (TopicPartition tp : parts) {
                if (end.get(tp) > c.position(tp)) {
                    open.add(tp);
                }
            }
            long deadline = System.currentTimeMillis() + 60_000;
            while (!open.isEmpty() && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    if (r.offset() < end.get(tp)) {
                        all.add(r);
                    }
                }
                open.removeIf(tp -> c.position(tp) >= end.get(tp));
            }
            if (!open.isEmpty()) {
                throw new IllegalStateException("could not read " + open + " to its end");
            }
        }
        all.sort((a, b) -> a.partition() != b.partition()
                ? Integer.compare(a.partition(), b.partition())
                : Long.compare(a.offset(), b.offset()));
        return all;
    }

    static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(String.format("%02x", x & 0xff));
        }
        return s.toString();
    }

    static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    static String instant(Instant i) {
        return i.getEpochSecond() + "." + String.format("%06d", i.getNano() / 1000);
    }

    // ---------------------------------------------------------------------------------
    // Flink debezium-json, maxwell-json, canal-json
    // ---------------------------------------------------------------------------------

    static final class FlinkChangelog implements Decoder {
        final DeserializationSchema<RowData> schema;
        final List<String> names = new ArrayList<>();
        final List<LogicalType> types = new ArrayList<>();

        FlinkChangelog(JsonNode job) throws Exception {
            List<DataTypes.Field> fields = new ArrayList<>();
            for (JsonNode c : job.get("columns")) {
                DataType t = flinkType(c.get("type").asText());
                names.add(c.get("name").asText());
                types.add(t.getLogicalType());
                fields.add(DataTypes.FIELD(c.get("name").asText(), t));
            }
            DataType row = DataTypes.ROW(fields.toArray(new DataTypes.Field[0]));
            switch (job.get("mode").asText()) {
                case "debezium-json":
                    schema = new DebeziumJsonDeserializationSchema(
                            row,
                            Collections.emptyList(),
                            new GenericTypeInfo<>(RowData.class),
                            job.path("schema_include").asBoolean(false),
                            false,
                            TimestampFormat.ISO_8601);
                    break;
                case "maxwell-json":
                    schema = new MaxwellJsonDeserializationSchema(
                            row,
                            Collections.emptyList(),
                            new GenericTypeInfo<>(RowData.class),
                            false,
                            TimestampFormat.SQL);
                    break;
                default:
                    schema = CanalJsonDeserializationSchema.builder(
                                    row, Collections.emptyList(), new GenericTypeInfo<>(RowData.class))
                            .setIgnoreParseErrors(false)
                            .setTimestampFormat(TimestampFormat.SQL)
                            .build();
            }
            schema.open(new DeserializationSchema.InitializationContext() {
                public MetricGroup getMetricGroup() {
                    return new UnregisteredMetricsGroup();
                }

                public UserCodeClassLoader getUserCodeClassLoader() {
                    return SimpleUserCodeClassLoader.create(ConsumerCheck.class.getClassLoader());
                }
            });
        }

        static DataType flinkType(String t) {
            if (t.startsWith("DECIMAL(")) {
                String[] ps = t.substring(8, t.length() - 1).split(",");
                return DataTypes.DECIMAL(Integer.parseInt(ps[0].trim()), Integer.parseInt(ps[1].trim()));
            }
            if (t.startsWith("TIMESTAMP(")) {
                return DataTypes.TIMESTAMP(Integer.parseInt(t.substring(10, t.length() - 1)));
            }
            switch (t) {
                case "TINYINT": return DataTypes.TINYINT();
                case "SMALLINT": return DataTypes.SMALLINT();
                case "INT": return DataTypes.INT();
                case "BIGINT": return DataTypes.BIGINT();
                case "FLOAT": return DataTypes.FLOAT();
                case "DOUBLE": return DataTypes.DOUBLE();
                case "BOOLEAN": return DataTypes.BOOLEAN();
                case "BYTES": return DataTypes.BYTES();
                case "STRING": return DataTypes.STRING();
                case "DATE": return DataTypes.DATE();
                case "TIMESTAMP_LTZ(6)": return DataTypes.TIMESTAMP_LTZ(6);
                default: throw new IllegalArgumentException("unsupported Flink type " + t);
            }
        }

        public void decode(ConsumerRecord<byte[], byte[]> rec, ObjectNode base, List<ObjectNode> out)
                throws Exception {
            List<RowData> rows = new ArrayList<>();
            schema.deserialize(rec.value(), new Collector<RowData>() {
                public void collect(RowData r) {
                    rows.add(r);
                }

                public void close() {}
            });
            if (rec.value() == null) {
                ObjectNode line = base.deepCopy();
                line.put("kind", "TOMBSTONE");
                out.add(line);
            }
            for (RowData r : rows) {
                ObjectNode line = base.deepCopy();
                line.put("kind", r.getRowKind().name());
                ObjectNode row = line.putObject("row");
                for (int i = 0; i < names.size(); i++) {
                    row.put(names.get(i), value(r, i, types.get(i)));
                }
                out.add(line);
            }
        }

        static String value(RowData r, int i, LogicalType t) {
            if (r.isNullAt(i)) {
                return null;
            }
            switch (t.getTypeRoot()) {
                case TINYINT: return Byte.toString(r.getByte(i));
                case SMALLINT: return Short.toString(r.getShort(i));
                case DATE: return LocalDate.ofEpochDay(r.getInt(i)).toString();
                case INTEGER: return Integer.toString(r.getInt(i));
                case BIGINT: return Long.toString(r.getLong(i));
                case FLOAT: return Float.toString(r.getFloat(i));
                case DOUBLE: return Double.toString(r.getDouble(i));
                case BOOLEAN: return Boolean.toString(r.getBoolean(i));
                case VARBINARY: case BINARY: return hex(r.getBinary(i));
                case VARCHAR: case CHAR: return r.getString(i).toString();
                case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                    return instant(r.getTimestamp(i, 6).toInstant());
                case DECIMAL: {
                    DecimalType d = (DecimalType) t;
                    DecimalData v = r.getDecimal(i, d.getPrecision(), d.getScale());
                    return v.toBigDecimal().toPlainString();
                }
                case TIMESTAMP_WITHOUT_TIME_ZONE:
                    return r.getTimestamp(i, ((TimestampType) t).getPrecision())
                            .toLocalDateTime()
                            .format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS"));
                default: throw new IllegalArgumentException("unsupported type " + t);
            }
        }
    }

    // ---------------------------------------------------------------------------------
    // Kafka Connect JsonConverter
    // ---------------------------------------------------------------------------------

    static final class ConnectJson implements Decoder {
        final JsonConverter keys = new JsonConverter();
        final JsonConverter values = new JsonConverter();
        final JsonConverter headers = new JsonConverter();
        final Set<String> described = new HashSet<>();

        ConnectJson() {
            Map<String, Object> cfg = new HashMap<>();
            cfg.put("schemas.enable", "true");
            // By default a null value of a field whose schema has a default is read as
            // that default; a nullable column with a default holds real NULLs.
            cfg.put("replace.null.with.default", "false");
            keys.configure(cfg, true);
            values.configure(cfg, false);
            headers.configure(cfg, false);
        }

        public void decode(ConsumerRecord<byte[], byte[]> rec, ObjectNode base, List<ObjectNode> out) {
            ObjectNode line = base.deepCopy();
            SchemaAndValue key = keys.toConnectData(rec.topic(), rec.key());
            line.set("key", key.value() == null ? null : struct((Struct) key.value()));
            ArrayNode names = line.putArray("headers");
            for (Header h : rec.headers()) {
                names.add(h.key());
                if (h.key().equals("__debezium.newkey") || h.key().equals("__debezium.oldkey")) {
                    SchemaAndValue k = headers.toConnectHeader(rec.topic(), h.key(), h.value());
                    line.set(h.key().substring("__debezium.".length()), struct((Struct) k.value()));
                }
            }
            SchemaAndValue v = values.toConnectData(rec.topic(), rec.value());
            if (v.value() == null) {
                line.put("op", "tombstone");
                out.add(line);
                return;
            }
            Struct env = (Struct) v.value();
            Struct source = env.getStruct("source");
            line.put("op", env.getString("op"));
            line.put("db", source.getString("db"));
            line.put("table", source.getString("table"));
            line.put("snapshot", source.getString("snapshot"));
            line.set("before", env.getStruct("before") == null ? null : struct(env.getStruct("before")));
            line.set("after", env.getStruct("after") == null ? null : struct(env.getStruct("after")));
            String table = source.getString("db") + "." + source.getString("table");
            if (described.add(table)) {
                ObjectNode s = line.putObject("schema");
                for (Field f : env.schema().field("after").schema().fields()) {
                    s.put(f.name(), describe(f.schema()));
                }
                ObjectNode sourceSchema = line.putObject("source_schema");
                for (Field f : source.schema().fields()) {
                    sourceSchema.put(f.name(), describe(f.schema()));
                }
                line.put("envelope", env.schema().name() + " v" + env.schema().version());
            }
            out.add(line);
        }

        static String describe(Schema s) {
            StringBuilder d = new StringBuilder(s.type().getName());
            if (s.name() != null) {
                d.append(' ').append(s.name());
            }
            if (s.parameters() != null && !s.parameters().isEmpty()) {
                List<String> kv = new ArrayList<>();
                s.parameters().forEach((k, v) -> kv.add(k + "=" + v));
                Collections.sort(kv);
                d.append(' ').append(String.join(",", kv));
            }
            if (s.defaultValue() != null) {
                d.append(" default=").append(s.defaultValue());
            }
            if (s.isOptional()) {
                d.append('?');
            }
            return d.toString();
        }

        static ObjectNode struct(Struct s) {
            ObjectNode o = JSON.createObjectNode();
            for (Field f : s.schema().fields()) {
                // Without the default: Struct.get substitutes it for a null, hiding real NULLs.
                o.put(f.name(), value(f.schema(), s.getWithoutDefault(f.name())));
            }
            return o;
        }

        static String value(Schema s, Object v) {
            if (v == null) {
                return null;
            }
            if (Decimal.LOGICAL_NAME.equals(s.name())) {
                return ((BigDecimal) v).toPlainString();
            }
            switch (s.type()) {
                case FLOAT32: return Float.toString((Float) v);
                case FLOAT64: return Double.toString((Double) v);
                case BYTES: return hex(v instanceof ByteBuffer ? bytes((ByteBuffer) v) : (byte[]) v);
                case STRING:
                    if ("io.debezium.time.ZonedTimestamp".equals(s.name())) {
                        return instant(Instant.parse((String) v));
                    }
                    return (String) v;
                case STRUCT: {
                    // io.debezium.data.geometry.Geometry: SRID then WKB, as MySQL stores it.
                    Struct g = (Struct) v;
                    Integer srid = g.getInt32("srid");
                    byte[] sr = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
                            .putInt(srid == null ? 0 : srid).array();
                    return hex(sr) + hex(g.getBytes("wkb"));
                }
                default: return v.toString();
            }
        }
    }

    // ---------------------------------------------------------------------------------
    // Apache Avro with a schema registry
    // ---------------------------------------------------------------------------------

    static final class AvroRegistry implements Decoder {
        static final HttpClient HTTP = HttpClient.newHttpClient();
        final String registry;
        final Map<Integer, org.apache.avro.Schema> schemas = new HashMap<>();
        final Set<Integer> described = new HashSet<>();
        final GenericData data = new GenericData();

        AvroRegistry(JsonNode job) {
            registry = job.get("registry").asText().replaceAll("/+$", "");
            data.addLogicalTypeConversion(new Conversions.DecimalConversion());
            data.addLogicalTypeConversion(new TimeConversions.DateConversion());
            data.addLogicalTypeConversion(new TimeConversions.TimestampMillisConversion());
            data.addLogicalTypeConversion(new TimeConversions.TimestampMicrosConversion());
        }

        public void decode(ConsumerRecord<byte[], byte[]> rec, ObjectNode base, List<ObjectNode> out)
                throws Exception {
            ObjectNode line = base.deepCopy();
            byte[] key = rec.key() == null ? new byte[0] : rec.key();
            line.put("key_null", rec.key() == null);
            line.set("key_schema", key.length == 0 ? null : JSON.getNodeFactory().numberNode(id(key)));
            line.put("value_schema", id(rec.value()));
            line.set("key", key.length == 0 ? null : json(read(key)));
            line.set("value", json(read(rec.value())));
            int valueId = id(rec.value());
            if (described.add(valueId)) {
                // The Value record: the second branch of the envelope's `after` union.
                org.apache.avro.Schema value =
                        schema(valueId).getField("after").schema().getTypes().get(1);
                ObjectNode defaults = line.putObject("defaults");
                for (org.apache.avro.Schema.Field f : value.getFields()) {
                    Object d = f.hasDefaultValue() ? f.defaultVal() : null;
                    if (d != null && d != JsonProperties.NULL_VALUE) {
                        defaults.set(f.name(), json(d));
                    }
                }
            }
            out.add(line);
        }

        static int id(byte[] record) {
            if (record == null || record.length < 5 || record[0] != 0) {
                throw new IllegalArgumentException("no schema registry header");
            }
            return ByteBuffer.wrap(record, 1, 4).getInt();
        }

        Object read(byte[] record) throws Exception {
            org.apache.avro.Schema s = schema(id(record));
            GenericDatumReader<Object> reader = new GenericDatumReader<>(s, s, data);
            BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(record, 5, record.length - 5, null);
            Object datum = reader.read(null, decoder);
            if (!decoder.isEnd()) {
                throw new IllegalStateException("bytes left after the datum");
            }
            return datum;
        }

        org.apache.avro.Schema schema(int id) throws Exception {
            org.apache.avro.Schema cached = schemas.get(id);
            if (cached != null) {
                return cached;
            }
            HttpResponse<String> r = HTTP.send(
                    HttpRequest.newBuilder(URI.create(registry + "/schemas/ids/" + id)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("registry: HTTP " + r.statusCode() + " " + r.body());
            }
            // {"schema": "<schema JSON as a string>", ...}: Avro's own parser reads it (and
            // checks every field default against its type).
            org.apache.avro.Schema s =
                    new org.apache.avro.Schema.Parser().parse(JSON.readTree(r.body()).get("schema").asText());
            schemas.put(id, s);
            return s;
        }

        static JsonNode json(Object v) {
            if (v == null) {
                return JSON.nullNode();
            }
            if (v instanceof GenericRecord) {
                GenericRecord rec = (GenericRecord) v;
                ObjectNode o = JSON.createObjectNode();
                for (org.apache.avro.Schema.Field f : rec.getSchema().getFields()) {
                    o.set(f.name(), json(rec.get(f.pos())));
                }
                return o;
            }
            if (v instanceof Boolean) {
                return JSON.getNodeFactory().booleanNode((Boolean) v);
            }
            if (v instanceof Integer || v instanceof Long) {
                return JSON.getNodeFactory().numberNode(((Number) v).longValue());
            }
            if (v instanceof Float || v instanceof Double) {
                double d = ((Number) v).doubleValue();
                return Double.isFinite(d)
                        ? JSON.getNodeFactory().numberNode(v instanceof Float ? Double.parseDouble(v.toString()) : d)
                        : JSON.nullNode();
            }
            if (v instanceof ByteBuffer) {
                return JSON.getNodeFactory().textNode(Base64.getEncoder().encodeToString(bytes((ByteBuffer) v)));
            }
            if (v instanceof byte[]) {
                return JSON.getNodeFactory().textNode(Base64.getEncoder().encodeToString((byte[]) v));
            }
            if (v instanceof BigDecimal) {
                return JSON.getNodeFactory().textNode(((BigDecimal) v).toPlainString());
            }
            // CharSequence (Utf8), LocalDate, Instant: their text.
            return JSON.getNodeFactory().textNode(v.toString());
        }
    }
}
