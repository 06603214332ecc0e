/*
 * ship_status.h - the shipper in status.json: the "outbox" section.
 *
 * `rmmhunt status` shows it; the dropped and rejected counts are also in
 * status.json's "losses" (agent/status.c), which heartbeats carry.
 */
#ifndef RMMHUNT_AGENT_SHIP_STATUS_H
#define RMMHUNT_AGENT_SHIP_STATUS_H

#include <jansson.h>

#include "shipper.h"

/* A new object describing the shipper (shipping off when NULL). */
json_t *ship_status_json(struct shipper *shipper);

#endif
