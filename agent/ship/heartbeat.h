/*
 * heartbeat.h - the body of POST /v1/heartbeat (docs/fleet.md).
 *
 * A heartbeat tells the collector that the agent lives and how it is: its
 * version, the host (kernel, OS, architecture), the rules it runs, every
 * loss counter of status.json (the "losses" object the main thread writes
 * there, copied as is), the cache's size and oldest record, the outbox's
 * depth and what it dropped or had refused, and the last shipping error.
 * The sender builds it from the last status.json text the main thread
 * handed over, so the heartbeat says exactly what `rmmhunt status` says.
 */
#ifndef RMMHUNT_AGENT_SHIP_HEARTBEAT_H
#define RMMHUNT_AGENT_SHIP_HEARTBEAT_H

#include <stdint.h>

#include "base/strbuf.h"
#include "model/device.h"
#include "outbox_state.h"

struct host_facts {
	char kernel[128]; /* uname -r */
	char os[128]; /* /etc/os-release PRETTY_NAME */
	char architecture[128]; /* uname -m */
};

struct heartbeat_facts {
	const struct device_identity *identity;
	const struct host_facts *host;
	uint32_t interval_seconds;
	const char *status_json; /* the last status.json text, or NULL */
	int64_t cache_records, cache_oldest_ticks; /* 0: none */
	int64_t outbox_records, outbox_hits, outbox_oldest_ticks;
	const struct outbox_state *cursors;
	const char *last_error;
	int64_t now_ticks;
};

void heartbeat_host_facts(struct host_facts *host);

/* The JSON body.  0 or -ENOMEM. */
int heartbeat_build(const struct heartbeat_facts *facts, struct strbuf *out);

#endif
