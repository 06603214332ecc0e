/*
 * exactsum.h - exact, order-independent summation of doubles (exactsum.c).
 */
#ifndef RMMHUNT_KQL_EXACTSUM_H
#define RMMHUNT_KQL_EXACTSUM_H

#include <stdint.h>

#define EXACT_SUM_LIMBS 72

struct exact_sum {
	int64_t limbs[EXACT_SUM_LIMBS]; /* 32 bits each, from 2^-1074 up */
	uint32_t pending;		/* additions since the last carry pass */
	uint64_t nans;
	uint64_t positive_infinities;
	uint64_t negative_infinities;
};

void kql_exact_sum_add(struct exact_sum *sum, double number);
void kql_exact_sum_merge(struct exact_sum *into, const struct exact_sum *from);
double kql_exact_sum_value(const struct exact_sum *sum);

#endif
