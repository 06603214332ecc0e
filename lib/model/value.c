/*
 * value.c - names of the Kusto scalar types, as KQL and error messages spell
 * them.
 */
#include <errno.h>
#include <string.h>

#include "model/value.h"

const char *value_type_name(enum value_type type)
{
	switch (type) {
	case VALUE_BOOL:
		return "bool";
	case VALUE_LONG:
		return "long";
	case VALUE_REAL:
		return "real";
	case VALUE_DATETIME:
		return "datetime";
	case VALUE_TIMESPAN:
		return "timespan";
	case VALUE_STRING:
		return "string";
	case VALUE_DYNAMIC:
		return "dynamic";
	}
	return "unknown";
}

int value_type_parse(const char *name, enum value_type *type)
{
	static const enum value_type types[] = {VALUE_BOOL,	VALUE_LONG,   VALUE_REAL,
						VALUE_DATETIME, VALUE_TIMESPAN, VALUE_STRING,
						VALUE_DYNAMIC};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(name, value_type_name(types[i])) == 0) {
			*type = types[i];
			return 0;
		}
	}
	return -EINVAL;
}
