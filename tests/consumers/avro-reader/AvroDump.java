// Decodes Kafka records written in a schema registry's wire format with Apache Avro's own
// Java reader (GenericDatumReader), the way Confluent's and Apicurio's deserializers do:
// strip the 5-byte header (magic 0, big-endian schema id), fetch the writer's schema by id
// from the registry's Confluent-compatible API (GET /schemas/ids/{id}), read the datum.
//
// Usage: java -cp 'libs/*' AvroDump.java <registry base URL>
// stdin: one record per line, "<key hex>\t<value hex>"; stdout: one JSON object per line,
// {"key_schema":id,"value_schema":id,"key":…,"value":…}. Decimals, dates and timestamps
// come out through Avro's logical-type conversions (BigDecimal, LocalDate, Instant) as
// strings; time-micros stays a number (LocalTime cannot hold MySQL's ±838 hours).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.apache.avro.Conversions;
import org.apache.avro.Schema;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;

public class AvroDump {
  static final HttpClient HTTP = HttpClient.newHttpClient();
  static final Map<Integer, Schema> SCHEMAS = new HashMap<>();
  static final GenericData DATA = new GenericData();
  static String registry;

  public static void main(String[] args) throws Exception {
    registry = args[0].replaceAll("/+$", "");
    DATA.addLogicalTypeConversion(new Conversions.DecimalConversion());
    DATA.addLogicalTypeConversion(new TimeConversions.DateConversion());
    DATA.addLogicalTypeConversion(new TimeConversions.TimestampMillisConversion());
    DATA.addLogicalTypeConversion(new TimeConversions.TimestampMicrosConversion());
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    StringBuilder out = new StringBuilder();
    for (String line; (line = in.readLine()) != null; ) {
      if (line.isEmpty()) continue;
      String[] parts = line.split("\t", -1);
      byte[] key = HexFormat.of().parseHex(parts[0]);
      byte[] value = HexFormat.of().parseHex(parts[1]);
      out.setLength(0);
      out.append("{\"key_schema\":").append(id(key)).append(",\"value_schema\":").append(id(value));
      out.append(",\"key\":");
      json(out, read(key));
      out.append(",\"value\":");
      json(out, read(value));
      out.append('}');
      System.out.println(out);
    }
  }

  static int id(byte[] record) {
    if (record.length < 5 || record[0] != 0) throw new IllegalArgumentException("no registry header");
    return ByteBuffer.wrap(record, 1, 4).getInt();
  }

  static Object read(byte[] record) throws Exception {
    Schema schema = schema(id(record));
    GenericDatumReader<Object> reader = new GenericDatumReader<>(schema, schema, DATA);
    var decoder = DecoderFactory.get().binaryDecoder(record, 5, record.length - 5, null);
    Object datum = reader.read(null, decoder);
    if (!decoder.isEnd()) throw new IllegalStateException("bytes left after the datum");
    return datum;
  }

  static Schema schema(int id) throws Exception {
    Schema cached = SCHEMAS.get(id);
    if (cached != null) return cached;
    HttpResponse<String> r = HTTP.send(
        HttpRequest.newBuilder(URI.create(registry + "/schemas/ids/" + id)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) throw new IllegalStateException("registry: HTTP " + r.statusCode() + " " + r.body());
    // {"schema":"<schema JSON as a string>", ...}: let Avro's own JSON parser read it.
    var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body());
    Schema schema = new Schema.Parser().parse(node.get("schema").asText());
    SCHEMAS.put(id, schema);
    return schema;
  }

  static void json(StringBuilder out, Object v) {
    if (v == null) {
      out.append("null");
    } else if (v instanceof GenericRecord rec) {
      out.append('{');
      boolean first = true;
      for (Schema.Field f : rec.getSchema().getFields()) {
        if (!first) out.append(',');
        first = false;
        string(out, f.name());
        out.append(':');
        json(out, rec.get(f.pos()));
      }
      out.append('}');
    } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long) {
      out.append(v);
    } else if (v instanceof Float f) {
      out.append(Float.isFinite(f) ? f.toString() : "null");
    } else if (v instanceof Double d) {
      out.append(Double.isFinite(d) ? d.toString() : "null");
    } else if (v instanceof ByteBuffer b) {
      byte[] bytes = new byte[b.remaining()];
      b.duplicate().get(bytes);
      string(out, Base64.getEncoder().encodeToString(bytes));
    } else if (v instanceof BigDecimal d) {
      string(out, d.toPlainString());
    } else {
      // CharSequence (Utf8), LocalDate, Instant: their text.
      string(out, v.toString());
    }
  }

  static void string(StringBuilder out, String s) {
    out.append('"');
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        default -> {
          if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
          else out.append(c);
        }
      }
    }
    out.append('"');
  }
}
