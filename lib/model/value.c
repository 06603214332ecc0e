/*
 * value.c - names of the Kusto scalar types, as KQL and error messages spell
 * them.
 */
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
