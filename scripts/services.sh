#!/usr/bin/env bash
# scripts/services.sh — real Kafka and ClickHouse on loopback, without Docker.
#
#   scripts/services.sh start    install what is missing, start both, wait until they answer
#   scripts/services.sh stop     stop both by PID (TERM, then KILL after a grace period)
#   scripts/services.sh status   show what runs; exit 0 only if both answer
#   scripts/services.sh env      print the exports the tests and the binary read
#   scripts/services.sh clean    stop, then delete the state dir (data, logs, configs)
#
# Kafka 3.9.1 (KRaft, one combined broker/controller) from Maven Central jars; ClickHouse is
# Debian's clickhouse-server 18.16.1. Both listen on 127.0.0.1 only. Used by .ci/run (fresh
# Debian machine, root, no Docker engine) and by developers. See docs/ci-services.md.
#
# Measured on the 2-core dev machine (Kafka 3.9.1 + ClickHouse 18.16.1, both together):
#   cold start (empty jar cache and empty ~/.m2, new state dir):      11-12 s
#     = Maven download of the 57 Kafka jars (~45 MB) ~6.5 s, storage format ~1.5 s,
#       ClickHouse ready ~0.3 s, broker ready (port + metadata request) ~3 s
#   warm start (jars cached, state dir kept from a previous run):      5-6 s
#   start when both already run (idempotent check only):               ~1 s
#   stop (Kafka controlled shutdown, ClickHouse on TERM):              ~4 s
#   on a machine without ClickHouse, apt-get update + install adds    ~5 s + the update
#   RSS: Kafka ~320 MB, ClickHouse ~80 MB
#
# Environment (all optional):
#   SHOPWATCH_STATE_DIR   state dir: PIDs, configs, data, logs     (default: <repo>/.services)
#   SHOPWATCH_CACHE       cache surviving a reused machine         (default: $HOME/.cache/shopwatch)
#   KAFKA_PORT            PLAINTEXT listener                       (default: 19092)
#   KAFKA_CONTROLLER_PORT KRaft controller listener                (default: 19093)
#   CLICKHOUSE_HTTP_PORT  HTTP interface                           (default: 18123)
#   CLICKHOUSE_TCP_PORT   native protocol                          (default: 19000)
#   SERVICES_TIMEOUT_SECS how long `start` waits for readiness     (default: 90)
#   KAFKA_HEAP            broker heap                              (default: -Xmx512m -Xms128m)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${SHOPWATCH_STATE_DIR:-$REPO_ROOT/.services}"
CACHE_DIR="${SHOPWATCH_CACHE:-${HOME:-/root}/.cache/shopwatch}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
CLICKHOUSE_HTTP_PORT="${CLICKHOUSE_HTTP_PORT:-18123}"
CLICKHOUSE_TCP_PORT="${CLICKHOUSE_TCP_PORT:-19000}"
TIMEOUT_SECS="${SERVICES_TIMEOUT_SECS:-90}"
KAFKA_HEAP="${KAFKA_HEAP:--Xmx512m -Xms128m}"

KAFKA_POM="$REPO_ROOT/deploy/kafka-test/pom.xml"
KAFKA_LIBS="$CACHE_DIR/kafka-libs"
KAFKA_DIR="$STATE_DIR/kafka"
CH_DIR="$STATE_DIR/clickhouse"
HOST=127.0.0.1

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# helpers

# as_root CMD...: run as root (directly, or via sudo when available).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (install it yourself or rerun as root)"
    fi
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# pid_of NAME: prints the PID recorded for service NAME if that process still runs and is
# the one we started (its command line mentions our state dir); otherwise prints nothing.
pid_of() {
    local file="$STATE_DIR/$1.pid" pid cmdline
    [ -f "$file" ] || return 0
    pid="$(cat "$file" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    [ -r "/proc/$pid/cmdline" ] || return 0
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    if [[ "$cmdline" == *"$STATE_DIR"* ]]; then
        printf '%s\n' "$pid"
    fi
}

# spawn NAME LOGFILE CMD...: start CMD detached (own session, survives the calling shell),
# stdout/stderr to LOGFILE, PID recorded in $STATE_DIR/NAME.pid.
spawn() {
    local name="$1" logfile="$2" pidfile="$STATE_DIR/$1.pid" _
    shift 2
    rm -f "$pidfile"
    # The inner shell writes its own PID and then execs the service, so the PID is the
    # service's whether or not setsid had to fork.
    # shellcheck disable=SC2016 # expanded by the inner shell
    setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidfile" "$@" \
        >>"$logfile" 2>&1 </dev/null &
    for _ in $(seq 1 50); do
        [ -s "$pidfile" ] && return 0
        sleep 0.1
    done
    die "$name did not start (no PID file); see $logfile"
}

# stop_service NAME GRACE_SECS: TERM the recorded PID, KILL it after GRACE_SECS.
stop_service() {
    local name="$1" grace="$2" pid _
    pid="$(pid_of "$name")"
    if [ -z "$pid" ]; then
        rm -f "$STATE_DIR/$name.pid"
        log "$name: not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((grace * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name: still running after ${grace}s, sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$STATE_DIR/$name.pid"
    log "$name: stopped (pid $pid)"
}

# fail_with_log NAME LOGFILE... MESSAGE: print the tail of each log, then exit non-zero.
fail_with_log() {
    local name="$1" msg="${*: -1}" f
    shift
    for f in "${@:1:$(($# - 1))}"; do
        if [ -s "$f" ]; then
            printf '[services] ---- last lines of %s ----\n' "$f" >&2
            tail -n 40 "$f" >&2
        fi
    done
    die "$name: $msg"
}

# ---------------------------------------------------------------------------------------------
# installation

ensure_packages() {
    local missing=()
    command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] \
        || missing+=(clickhouse-server)
    command -v clickhouse-client >/dev/null 2>&1 || missing+=(clickhouse-client)
    command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
    command -v mvn >/dev/null 2>&1 || missing+=(maven)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

clickhouse_server_cmd() {
    if command -v clickhouse-server >/dev/null 2>&1; then
        echo clickhouse-server
    elif [ -x /usr/sbin/clickhouse-server ]; then
        echo /usr/sbin/clickhouse-server
    else
        echo "clickhouse server"
    fi
}

# Kafka's jars, cached under $CACHE_DIR keyed on the pom's checksum; downloaded once.
ensure_kafka_libs() {
    local want have tmp
    want="$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)"
    have="$(cat "$KAFKA_LIBS/.pom.sha256" 2>/dev/null || true)"
    if [ "$want" = "$have" ] && compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null; then
        return 0
    fi
    log "downloading Kafka jars with Maven into $KAFKA_LIBS"
    mkdir -p "$CACHE_DIR"
    tmp="$(mktemp -d "$CACHE_DIR/kafka-libs.tmp.XXXXXX")"
    if ! mvn -q -B -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies \
        -DoutputDirectory="$tmp" >"$tmp.log" 2>&1; then
        cat "$tmp.log" >&2
        rm -rf "$tmp" "$tmp.log"
        die "Maven could not fetch the Kafka jars (see above)"
    fi
    rm -f "$tmp.log"
    echo "$want" >"$tmp/.pom.sha256"
    rm -rf "$KAFKA_LIBS"
    mv "$tmp" "$KAFKA_LIBS"
}

# ---------------------------------------------------------------------------------------------
# ClickHouse

write_clickhouse_config() {
    mkdir -p "$CH_DIR/data" "$CH_DIR/tmp" "$CH_DIR/user_files" "$CH_DIR/format_schemas" "$CH_DIR/log"
    cat >"$CH_DIR/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by scripts/services.sh; rewritten on every start. -->
<yandex>
    <logger>
        <level>warning</level>
        <log>$CH_DIR/log/clickhouse-server.log</log>
        <errorlog>$CH_DIR/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>$HOST</listen_host>
    <http_port>$CLICKHOUSE_HTTP_PORT</http_port>
    <tcp_port>$CLICKHOUSE_TCP_PORT</tcp_port>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$CH_DIR/data/</path>
    <tmp_path>$CH_DIR/tmp/</tmp_path>
    <user_files_path>$CH_DIR/user_files/</user_files_path>
    <format_schema_path>$CH_DIR/format_schemas/</format_schema_path>
    <users_config>$CH_DIR/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
</yandex>
EOF
    cat >"$CH_DIR/users.xml" <<'EOF'
<?xml version="1.0"?>
<!-- Generated by scripts/services.sh; rewritten on every start. Loopback only. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
            <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

clickhouse_ready() {
    [ "$(curl -fsS --max-time 2 "http://$HOST:$CLICKHOUSE_HTTP_PORT/ping" 2>/dev/null)" = "Ok." ]
}

start_clickhouse() {
    local pid deadline cmd
    pid="$(pid_of clickhouse)"
    if [ -z "$pid" ]; then
        if port_open "$CLICKHOUSE_HTTP_PORT" || port_open "$CLICKHOUSE_TCP_PORT"; then
            die "clickhouse: port $CLICKHOUSE_HTTP_PORT or $CLICKHOUSE_TCP_PORT is taken by a process this script did not start (set CLICKHOUSE_HTTP_PORT/CLICKHOUSE_TCP_PORT)"
        fi
        write_clickhouse_config
        read -r -a cmd <<<"$(clickhouse_server_cmd)"
        log "clickhouse: starting on $HOST:$CLICKHOUSE_HTTP_PORT (tcp $CLICKHOUSE_TCP_PORT)"
        (cd "$CH_DIR" && spawn clickhouse "$CH_DIR/log/stdout.log" \
            "${cmd[@]}" --config-file="$CH_DIR/config.xml")
    else
        log "clickhouse: already running (pid $pid)"
    fi
    deadline=$((SECONDS + TIMEOUT_SECS))
    until clickhouse_ready; do
        if [ -z "$(pid_of clickhouse)" ]; then
            fail_with_log clickhouse "$CH_DIR/log/stdout.log" "$CH_DIR/log/clickhouse-server.err.log" \
                "server exited during start-up"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            fail_with_log clickhouse "$CH_DIR/log/stdout.log" "$CH_DIR/log/clickhouse-server.err.log" \
                "no 'Ok.' from http://$HOST:$CLICKHOUSE_HTTP_PORT/ping within ${TIMEOUT_SECS}s"
        fi
        sleep 0.2
    done
    log "clickhouse: ready (pid $(pid_of clickhouse))"
}

# ---------------------------------------------------------------------------------------------
# Kafka

write_kafka_config() {
    mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/log"
    cat >"$KAFKA_DIR/server.properties" <<EOF
# Generated by scripts/services.sh; rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.segment.bytes=67108864
EOF
    cat >"$KAFKA_DIR/log4j.properties" <<EOF
# Generated by scripts/services.sh: broker logs at WARN into one rolling file.
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$KAFKA_DIR/log/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=WARN
log4j.logger.org.apache.kafka=WARN
EOF
    cat >"$KAFKA_DIR/tools-log4j.properties" <<'EOF'
# Generated by scripts/services.sh: command-line tools log errors to stderr only.
log4j.rootLogger=ERROR, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

# kafka_tool MAINCLASS ARGS...: run one of Kafka's command-line classes (mentions the state
# dir on its command line only through the log4j option, which is harmless for pid_of).
kafka_tool() {
    local main="$1"
    shift
    java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$KAFKA_DIR/tools-log4j.properties" \
        -cp "$KAFKA_LIBS/*" "$main" "$@"
}

new_cluster_id() {
    # A Kafka Uuid: 16 random bytes in URL-safe base64 without padding, not starting with '-'.
    local id
    while :; do
        id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
        [ "${id:0:1}" != "-" ] && { printf '%s\n' "$id"; return 0; }
    done
}

# kafka_ready: the port answers and a metadata request (ApiVersions + Metadata through
# Kafka's own admin client) succeeds.
kafka_ready() {
    port_open "$KAFKA_PORT" || return 1
    kafka_tool kafka.admin.BrokerApiVersionsCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
        >"$KAFKA_DIR/log/readiness.log" 2>&1 \
        && grep -q "^$HOST:$KAFKA_PORT" "$KAFKA_DIR/log/readiness.log"
}

start_kafka() {
    local pid deadline
    pid="$(pid_of kafka)"
    if [ -z "$pid" ]; then
        if port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT"; then
            die "kafka: port $KAFKA_PORT or $KAFKA_CONTROLLER_PORT is taken by a process this script did not start (set KAFKA_PORT/KAFKA_CONTROLLER_PORT)"
        fi
        write_kafka_config
        if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
            log "kafka: formatting storage in $KAFKA_DIR/data"
            if ! kafka_tool kafka.tools.StorageTool format -t "$(new_cluster_id)" \
                -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/log/format.log" 2>&1; then
                fail_with_log kafka "$KAFKA_DIR/log/format.log" "storage format failed"
            fi
        fi
        log "kafka: starting on $HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
        # shellcheck disable=SC2086 # KAFKA_HEAP holds several JVM options
        spawn kafka "$KAFKA_DIR/log/stdout.log" \
            java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
            -Dkafka.logs.dir="$KAFKA_DIR/log" \
            -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" \
            -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties"
    else
        log "kafka: already running (pid $pid)"
    fi
    deadline=$((SECONDS + TIMEOUT_SECS))
    until port_open "$KAFKA_PORT"; do
        if [ -z "$(pid_of kafka)" ]; then
            fail_with_log kafka "$KAFKA_DIR/log/stdout.log" "$KAFKA_DIR/log/server.log" \
                "broker exited during start-up"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            fail_with_log kafka "$KAFKA_DIR/log/stdout.log" "$KAFKA_DIR/log/server.log" \
                "port $KAFKA_PORT not open within ${TIMEOUT_SECS}s"
        fi
        sleep 0.2
    done
    until kafka_ready; do
        if [ -z "$(pid_of kafka)" ]; then
            fail_with_log kafka "$KAFKA_DIR/log/stdout.log" "$KAFKA_DIR/log/server.log" \
                "broker exited during start-up"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            fail_with_log kafka "$KAFKA_DIR/log/readiness.log" "$KAFKA_DIR/log/server.log" \
                "no metadata from $HOST:$KAFKA_PORT within ${TIMEOUT_SECS}s"
        fi
        sleep 0.5
    done
    log "kafka: ready (pid $(pid_of kafka))"
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_start() {
    local t0=$SECONDS
    mkdir -p "$STATE_DIR"
    ensure_packages
    ensure_kafka_libs
    # ClickHouse first: it is ready in well under a second while the JVM warms up.
    start_clickhouse
    start_kafka
    log "all services ready in $((SECONDS - t0))s; state in $STATE_DIR"
    log "run: eval \"\$($0 env)\""
}

cmd_stop() {
    stop_service kafka 20
    stop_service clickhouse 10
}

cmd_status() {
    local rc=0 pid
    pid="$(pid_of clickhouse)"
    if [ -n "$pid" ] && clickhouse_ready; then
        echo "clickhouse: running (pid $pid), http://$HOST:$CLICKHOUSE_HTTP_PORT answers Ok."
    elif [ -n "$pid" ]; then
        echo "clickhouse: process $pid runs but http://$HOST:$CLICKHOUSE_HTTP_PORT/ping does not answer"
        rc=3
    else
        echo "clickhouse: stopped"
        rc=3
    fi
    pid="$(pid_of kafka)"
    if [ -n "$pid" ] && port_open "$KAFKA_PORT"; then
        echo "kafka: running (pid $pid), $HOST:$KAFKA_PORT open"
    elif [ -n "$pid" ]; then
        echo "kafka: process $pid runs but $HOST:$KAFKA_PORT is not open"
        rc=3
    else
        echo "kafka: stopped"
        rc=3
    fi
    return "$rc"
}

cmd_env() {
    echo "export KAFKA_BROKERS=$HOST:$KAFKA_PORT"
    echo "export CLICKHOUSE_URL=http://$HOST:$CLICKHOUSE_HTTP_PORT"
}

cmd_clean() {
    cmd_stop
    case "$STATE_DIR" in
        "" | / | "$HOME") die "refusing to delete state dir '$STATE_DIR'" ;;
    esac
    rm -rf "$STATE_DIR"
    log "removed $STATE_DIR"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    clean) cmd_clean ;;
    *)
        echo "usage: $0 start|stop|status|env|clean" >&2
        exit 2
        ;;
esac
