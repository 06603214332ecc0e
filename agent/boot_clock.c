/*
 * boot_clock.c - CLOCK_BOOTTIME to UTC ticks.
 */
#include <stdlib.h>
#include <time.h>

#include "boot_clock.h"

/* a difference larger than this is a clock step, not drift */
#define BOOT_CLOCK_STEP_NS 1000000LL

static int64_t read_ns(clockid_t id)
{
	struct timespec now;

	clock_gettime(id, &now);
	return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

uint64_t boot_clock_now_ns(void)
{
	return (uint64_t)read_ns(CLOCK_BOOTTIME);
}

void boot_clock_sync(struct boot_clock *clock)
{
	int64_t best_offset = 0, best_window = INT64_MAX;

	/* Bracket REALTIME between two BOOTTIME reads; keep the tightest. */
	for (int attempt = 0; attempt < 3; attempt++) {
		int64_t before = read_ns(CLOCK_BOOTTIME);
		int64_t real = read_ns(CLOCK_REALTIME);
		int64_t after = read_ns(CLOCK_BOOTTIME);

		if (after - before < best_window) {
			best_window = after - before;
			best_offset = real - (before + (after - before) / 2);
		}
	}
	/* Keep the old offset through small drift, so that the creation time
	 * of one process reads the same in every record that names it; follow
	 * real steps of the wall clock. */
	if (clock->realtime_minus_boottime_ns == 0 ||
	    llabs(best_offset - clock->realtime_minus_boottime_ns) > BOOT_CLOCK_STEP_NS)
		clock->realtime_minus_boottime_ns = best_offset;
}

int64_t boot_clock_ticks(const struct boot_clock *clock, uint64_t boot_ns)
{
	/* in 100 ns units first: no sum can overflow */
	return (int64_t)(boot_ns / 100) + clock->realtime_minus_boottime_ns / 100;
}
