#!/bin/bash
# run.sh - what `make run` does: a fleet of one on this host.
#
#   1. TLS material under var/fleet/ (made once with the openssl CLI): a CA,
#      a server certificate for 127.0.0.1 and localhost, the fleet's
#      enrollment secret, an analyst token;
#   2. rmmhunt-collector on 127.0.0.1:PORT (its store var/collector.db, its
#      log var/collector.log);
#   3. a poller that prints each rule hit once it is at the collector
#      (`rmmhunt query --collector ... RuleHits`), the analysts' view;
#   4. rmmhunt-agent in the foreground (state in var/state, the bundled
#      rules, records in var/events.ndjson, one line per exec), enrolled
#      with the collector and shipping to it.
#
# Ctrl-C stops the agent (it ships what it committed, for a moment), then
# the poller and the collector.
#
#   packaging/run.sh [BUILD_DIR [VAR_DIR [PORT]]]
set -eu

build=${1:-build}
var=${2:-var}
port=${3:-8443}
fleet="$var/fleet"
url="https://127.0.0.1:$port"
collector_pid=""
poller_pid=""

say() { printf 'run: %s\n' "$*" >&2; }

make_tls() {
	mkdir -p "$fleet"
	chmod 700 "$fleet"
	if [ ! -s "$fleet/ca.pem" ]; then
		say "making a CA and a server certificate for 127.0.0.1 in $fleet/"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$fleet/ca.key" -out "$fleet/ca.pem" -days 825 \
			-subj "/CN=rmmhunt make-run CA" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		rm -f "$fleet/server.pem"
	fi
	if [ ! -s "$fleet/server.pem" ]; then
		printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' \
			>"$fleet/server.ext"
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$fleet/server.key" -out "$fleet/server.csr" \
			-subj "/CN=localhost" 2>/dev/null
		openssl x509 -req -in "$fleet/server.csr" -CA "$fleet/ca.pem" \
			-CAkey "$fleet/ca.key" -CAcreateserial -out "$fleet/server.pem" \
			-days 825 -extfile "$fleet/server.ext" 2>/dev/null
	fi
	for name in enroll-secret analyst-token; do
		if [ ! -s "$fleet/$name" ]; then
			(umask 077 && openssl rand -base64 32 | tr '+/' '-_' | tr -d '=' >"$fleet/$name")
		fi
	done
	chmod 600 "$fleet"/*.key "$fleet/enroll-secret" "$fleet/analyst-token"
}

start_collector() {
	rm -f "$var/collector.port"
	# a session of its own: Ctrl-C on the terminal does not reach it; it is
	# stopped below, after the agent, so the agent's last batch finds it
	# (not a process group leader here, so setsid execs without a fork and
	# $! is the collector)
	setsid "$build/rmmhunt-collector" --listen "127.0.0.1:$port" --db "$var/collector.db" \
		--tls-cert "$fleet/server.pem" --tls-key "$fleet/server.key" \
		--enroll-secret-file "$fleet/enroll-secret" \
		--analyst-token-file "$fleet/analyst-token" \
		--port-file "$var/collector.port" 2>>"$var/collector.log" &
	collector_pid=$!
	for _ in $(seq 100); do
		[ -s "$var/collector.port" ] && break
		if ! kill -0 "$collector_pid" 2>/dev/null; then
			collector_pid=""
			say "the collector did not start (is port $port taken? PORT=N make run); its log:"
			tail -5 "$var/collector.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	say "collector on $url (log: $var/collector.log)"
}

# Each hit once it reached the collector, printed once.
poll_hits() {
	declare -A seen
	local line query='RuleHits | where Timestamp > ago(1d)
		| project Timestamp, DeviceName, RuleName, FileName, ProcessCommandLine, ReportId
		| order by Timestamp asc'
	while sleep 2; do
		"$build/rmmhunt" query --collector "$url" --token-file "$fleet/analyst-token" \
			--ca-file "$fleet/ca.pem" --format csv "$query" \
			>"$var/hits.csv" 2>/dev/null || continue
		while IFS= read -r line; do
			if [ -z "${seen[$line]+x}" ]; then
				seen[$line]=1
				printf 'HIT at the collector: %s\n' "$line"
			fi
		done < <(tail -n +2 "$var/hits.csv")
	done
}

stop_all() {
	trap - EXIT INT TERM
	if [ -n "$poller_pid" ]; then
		kill "$poller_pid" 2>/dev/null || true
		wait "$poller_pid" 2>/dev/null || true
	fi
	if [ -n "$collector_pid" ]; then
		kill -TERM "$collector_pid" 2>/dev/null || true
		wait "$collector_pid" 2>/dev/null || true
		say "collector stopped"
	fi
	rm -f "$var/hits.csv"
}

mkdir -p "$var/state"
make_tls
trap stop_all EXIT
# Ctrl-C reaches the agent; the script goes on to stop the others
trap ':' INT TERM
start_collector
poll_hits &
poller_pid=$!
say "agent shipping to $url; Ctrl-C stops everything"
status=0
"$build/rmmhunt-agent" --state-dir "$var/state" --rules rules \
	--events "$var/events.ndjson" --print \
	--collector "$url" --ca-file "$fleet/ca.pem" \
	--enroll-secret-file "$fleet/enroll-secret" || status=$?
stop_all
exit "$status"
