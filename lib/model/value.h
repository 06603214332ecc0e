/*
 * value.h - one typed Kusto scalar.
 *
 * Every part of rmmhunt that holds a column value (the record builder in the
 * agent, the KQL evaluator, the cache, the collector) uses this one type, so a
 * record can be handed to the rule engine without conversion.  Kusto types
 * map as follows:
 *
 *   bool      -> VALUE_BOOL      (b)
 *   long/int  -> VALUE_LONG      (l)
 *   real      -> VALUE_REAL      (r)
 *   datetime  -> VALUE_DATETIME  (ticks: 100 ns units since 1970-01-01 UTC)
 *   timespan  -> VALUE_TIMESPAN  (ticks: 100 ns units)
 *   string    -> VALUE_STRING    (str, len; NUL-terminated; never null)
 *   dynamic   -> VALUE_DYNAMIC   (dyn: a jansson value, one reference owned)
 *
 * Every type except string can be null (is_null).  A string is never null:
 * a missing string is the empty string, as in Kusto.
 */
#ifndef RMMHUNT_VALUE_H
#define RMMHUNT_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_t;

enum value_type {
	VALUE_BOOL,
	VALUE_LONG,
	VALUE_REAL,
	VALUE_DATETIME,
	VALUE_TIMESPAN,
	VALUE_STRING,
	VALUE_DYNAMIC,
};

struct value {
	enum value_type type;
	bool is_null;
	union {
		bool b;
		int64_t l;
		double r;
		int64_t ticks;
		struct {
			const char *str;
			size_t len;
		};
		struct json_t *dyn;
	};
};

/* 100 ns ticks per unit, as Kusto counts them. */
#define TICKS_PER_MICROSECOND 10LL
#define TICKS_PER_MILLISECOND 10000LL
#define TICKS_PER_SECOND 10000000LL
#define TICKS_PER_MINUTE (60LL * TICKS_PER_SECOND)
#define TICKS_PER_HOUR (60LL * TICKS_PER_MINUTE)
#define TICKS_PER_DAY (24LL * TICKS_PER_HOUR)

const char *value_type_name(enum value_type type);
/* The inverse of value_type_name(); -EINVAL for any other name. */
int value_type_parse(const char *name, enum value_type *type);

#endif
