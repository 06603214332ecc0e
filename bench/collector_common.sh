# collector_common.sh - sourced by the collector benchmarks: a TLS
# certificate, an enrollment secret and an analyst token in $work, and a
# collector started on a store file (its pid in $collector_pid, its port
# in $work/port), stopped on exit.
collector_pid=
collector_cleanup() {
	if [ -n "$collector_pid" ]; then
		kill "$collector_pid" 2>/dev/null || true
		wait "$collector_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap collector_cleanup EXIT

collector_credentials() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=localhost \
		-addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
	head -c 32 /dev/urandom | base64 | tr -d '\n/+=' > "$work/secret"
	head -c 32 /dev/urandom | base64 | tr -d '\n/+=' > "$work/tokens"
}

# collector_start DB [OPTIONS...]
collector_start() {
	local db=$1
	shift
	rm -f "$work/port"
	build/rmmhunt-collector --listen 127.0.0.1:0 --db "$db" \
		--tls-cert "$work/cert.pem" --tls-key "$work/key.pem" \
		--enroll-secret-file "$work/secret" --analyst-token-file "$work/tokens" \
		--port-file "$work/port" --log-level warning "$@" &
	collector_pid=$!
	for _ in $(seq 200); do [ -s "$work/port" ] && return 0; sleep 0.05; done
	echo "the collector did not start" >&2
	return 1
}

collector_stop() {
	kill "$collector_pid"
	wait "$collector_pid" || true
	collector_pid=
}
