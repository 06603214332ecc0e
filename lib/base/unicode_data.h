/*
 * unicode_data.h - the generated tables behind unicode.h (unicode_data.c,
 * written by packaging/gen_unicode_data.py).  Only unicode.c reads them.
 */
#ifndef RMMHUNT_UNICODE_DATA_H
#define RMMHUNT_UNICODE_DATA_H

#include <stdint.h>

/* Code points at or above this are not letters or digits and map to themselves. */
#define UNICODE_TABLE_LIMIT 0x40000u
#define UNICODE_BLOCK_SHIFT 7

struct unicode_record {
	uint8_t alnum;	     /* general category L* or Nd */
	int32_t fold_delta;  /* simple case folding - code */
	int32_t lower_delta; /* simple lower-case mapping - code */
	int32_t upper_delta; /* simple upper-case mapping - code */
};

extern const struct unicode_record unicode_records[];
extern const uint16_t unicode_stage1[];
extern const uint8_t unicode_stage2[][1u << UNICODE_BLOCK_SHIFT];

#endif
