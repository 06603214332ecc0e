/*
 * backoff.h - when the shipper tries again after a failure.
 *
 * Full-jitter exponential backoff (the delay is uniform in [0, ceiling),
 * the ceiling doubling per failure from 1 s up to 60 s), so a fleet whose
 * collector failed does not retry in step.  The cap is Elastic Beats': with
 * 300 s an agent could wait four more minutes after a one-minute outage
 * (the ceiling reaches 256 s by the ninth failure), and a responder waits
 * for its records as long.  A collector's Retry-After is a
 * floor: the shipper never asks before it, and spreads itself after it by
 * the same jitter.  After an outage, the first batches wait a uniform
 * random part of the reconnect spread (docs/fleet.md), so the backlogs of
 * many agents do not all land on a collector that just came back.
 *
 * The functions are pure: the caller supplies the random numbers, so the
 * policy is tested exactly (tests/unit/test_agent_ship.c).
 */
#ifndef RMMHUNT_AGENT_SHIP_BACKOFF_H
#define RMMHUNT_AGENT_SHIP_BACKOFF_H

#include <stdint.h>

#define BACKOFF_BASE_MS 1000ULL
#define BACKOFF_CAP_MS (60ULL * 1000)

/* The ceiling after failures consecutive failures (1 = the first): base
 * doubled failures - 1 times, at most cap. */
uint64_t backoff_ceiling_ms(unsigned failures);

/*
 * The delay before the next try after failures consecutive failures:
 * random % ceiling; with a Retry-After (retry_after_ms >= 0) that value
 * plus the jitter.  random: any 64 random bits.
 */
uint64_t backoff_delay_ms(unsigned failures, int64_t retry_after_ms, uint64_t random);

/* A uniform delay in [0, spread_ms]. */
uint64_t backoff_spread_ms(uint64_t spread_ms, uint64_t random);

/*
 * Parse a Retry-After header value: delta-seconds ("120") or an HTTP-date
 * ("Fri, 31 Dec 1999 23:59:59 GMT"), relative to now_seconds (Unix time).
 * Returns 0 with *seconds (never negative, at most a day), or -EINVAL.
 */
int backoff_parse_retry_after(const char *value, int64_t now_seconds, int64_t *seconds);

/* A small fast generator for the jitter (xorshift64*), seeded by the caller. */
uint64_t backoff_random_next(uint64_t *state);

#endif
