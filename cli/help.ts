/**
 * Every command's help, in one module with no imports, so `vigil --help` and `vigil <command> --help`
 * load nothing else (they answer in milliseconds on an edge box).
 */
export const credentialHelp = `vigil credential --gateway ID --site SITE
  Makes a password for a gateway and prints the server-config entry holding its hash. The password
  goes to the gateway's environment (uplink password), never into a file.`;

export const demoHelp = `vigil demo [--http-port 8080] [--mqtt-port 1883] [--sensor-port 1884] [--modbus-port 1502] [--data-dir ./data/demo] [--scenario FILE] [--tls]
  Everything in one process on loopback: the server (embedded broker, HTTP API), a gateway hosting
  the site broker for sensors, and a simulated fleet with a wearing bearing. Set INFLUX_URL to store
  readings in InfluxDB (or VictoriaMetrics). The API takes the admin token it prints, or the one
  given in VIGIL_TOKEN. --tls makes a CA and certificates under <data-dir>/tls/ (kept for the
  next run) and speaks only TLS: HTTPS on the HTTP ports, MQTTS on the server and sensor ports.`;

export const gatewayHelp = `vigil gateway -c FILE
  Runs the on-site gateway: drivers → outbox on disk → uplink. See examples/gateway.yaml.`;

export const serverHelp = `vigil server -c FILE [--workers N]
  Runs the central server: broker (embedded or external) → intake → InfluxDB, and the HTTP API.
  --workers N: N processes that share the shards through leases, on one HTTP port (needs
  broker.shards: leased; default one per core then, else 1).
  INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET configure an influxdb sink when the file names no sink.`;

export const simHelp = `vigil sim SCENARIO [--url mqtt://127.0.0.1:1883] [--username NAME] [--speed N]
  Plays a scenario file (see firmware-sim/scenarios/) as MQTT sensors. The password, if the broker
  needs one, comes from VIGIL_SIM_PASSWORD. Prints the scenario's ground truth first.`;

export const modbusHelp = `vigil modbus read (--tcp HOST:PORT | --rtu PATH [--baud 19200] [--parity even]) --unit N --profile NAME|FILE [--profiles DIR] [--timeout 1000] [--json]
  Polls a device once with a profile and prints the decoded values, or the exact Modbus error.
  --json prints one JSON object per value: {"metric", "value", "unit"} ({"name", "value"} for strings).`;

export const replayHelp = `vigil replay --rules FILE|default --csv FILE [--truth FILE] [--machine PATTERN[=NAME]]... [--json] [--device ID] [--map COLUMN=METRIC,...] [--site SITE]
  Runs a ruleset over a CSV of readings with the live rule engine and prints what would have fired,
  then a summary per device (first warning, first critical, alerts, flaps).
  CSV: long (ts,device,metric,value) or wide (ts[,device],<one column per metric>); ts is ISO 8601 or
  epoch ms. Wide columns are named after catalog metrics or mapped with --map vib=vibration_rms.
  --truth FILE: a CSV device,failed_at[,fault] of real failures; adds each failed device's lead time
  (first warning before the failure) and the findings on devices that did not fail.
  --machine 'rig1-*=rig1': the devices matching the pattern share one machine (shaft): vibration that
  one of them feels from another that already fires is evidence on that one's ticket.
  --json prints one JSON object per finding per line, then {"summary": ..., "leadTimes": ...}.`;

export const schemaHelp = `vigil schema gateway|server|ruleset|scenario|profile
  Prints the JSON Schema of that file format, for editors to validate and complete configs, e.g.
  npx vigil schema gateway > gateway.schema.json, then in gateway.yaml the first line
  # yaml-language-server: $schema=./gateway.schema.json`;

export const secretsHelp = `vigil secrets rotate (-c FILE | --data-dir DIR)
  Seals the server's stored secrets (webhook secrets) with the key in VIGIL_SECRET_KEY. The previous key
  comes from VIGIL_SECRET_KEY_OLD, or from <dataDir>/secret.key when the server made one itself.
  Run it with the server stopped, then start the server with the new VIGIL_SECRET_KEY.`;

export const tokenHelp = `vigil token create --role viewer|operator|service_desk|admin [--name NAME] [--sites A,B] [--customers C,D] (-c FILE | --data-dir DIR)
vigil token list (-c FILE | --data-dir DIR)
vigil token revoke ID (-c FILE | --data-dir DIR)
  API tokens, kept hashed in the server's database (its dataDir, from the server config or given), or
  in the gateway's when FILE is a gateway config (add --gateway with --data-dir).
  A new token is printed once; send it as "Authorization: Bearer <token>". --sites and --customers
  scope it: it then sees only those sites (a customer's sites come from the ticket policy).`;

export const backupHelp = `vigil backup (-c FILE | --data-dir DIR) --to DIR
  Copies a server's or gateway's data directory while it runs: each SQLite database as a consistent
  snapshot (VACUUM INTO: one read transaction, writers carry on), plus secret.key when there is one,
  and a manifest. DIR must not exist yet.
vigil restore --from DIR (-c FILE | --data-dir DIR)
  Puts a backup into an empty (or new) data directory; start the server or gateway on it afterwards.`;

export const dbHelp = `vigil db migrate (-c FILE | --data-dir DIR | --database URL)
  Applies the store's migrations (the server also applies them as it starts): the SQLite file in the
  data directory, or PostgreSQL when the server config has database.url (or --database URL is given).
vigil db copy --from sqlite:FILE --to postgres://USER@HOST:5432/DB
  Moves a single server's SQLite store into an empty PostgreSQL database: both brought to the current
  schema, every shared table copied with its ids, the row counts of each table compared at the end
  (exit 1 if any differ). Stop the server first. The URL may come from VIGIL_DATABASE_URL.
vigil db backup (-c FILE | --data-dir DIR) --to DIR    vigil db restore --from DIR (-c FILE | --data-dir DIR)
  As vigil backup and vigil restore (SQLite). For PostgreSQL use pg_dump and pg_restore.`;

export const exportHelp = `vigil export readings|tickets|findings (-c FILE | --data-dir DIR) [--from T] [--to T] [--format csv|jsonl] [--out FILE]
  Streams what the server holds, oldest first, to stdout (or FILE), while it runs: readings as the
  per-minute history (mean, min, max, last, count per device and metric; raw readings are in the TSDB),
  tickets by creation time, findings by time. T is ISO 8601 (2026-11-01, 2026-11-01T06:00Z), epoch ms,
  or relative to now (--from=-7d, --from=-12h). Default: everything up to now, as CSV.`;
