/*
 * boot_clock.h - from the probe's clock to wall-clock datetimes.
 *
 * The probe stamps events with CLOCK_BOOTTIME (which, unlike the monotonic
 * clock, keeps counting through suspend, as task start times do).  A record
 * needs UTC datetimes: the offset between CLOCK_REALTIME and CLOCK_BOOTTIME
 * is measured at start and re-measured on every stats tick, so a clock step
 * (NTP) shows in records within seconds.
 */
#ifndef RMMHUNT_AGENT_BOOT_CLOCK_H
#define RMMHUNT_AGENT_BOOT_CLOCK_H

#include <stdint.h>

struct boot_clock {
	int64_t realtime_minus_boottime_ns;
};

void boot_clock_sync(struct boot_clock *clock);
/* Kusto ticks (100 ns since the Unix epoch) of a CLOCK_BOOTTIME instant. */
int64_t boot_clock_ticks(const struct boot_clock *clock, uint64_t boot_ns);
/* CLOCK_BOOTTIME now, in ns. */
uint64_t boot_clock_now_ns(void);

#endif
