/*
 * exactsum.c - the exact sum of doubles, for sum() and avg() over reals.
 *
 * Floating-point addition is not associative, so a sum merged from partial
 * sums (the agent's incremental summarize) would differ in its last bits
 * from the sum over all rows at once.  Summing exactly and rounding once at
 * the end gives the same result in any order: every finite double is an
 * integer multiple of 2^-1074 below 2^1024, so a fixed-point accumulator of
 * 32-bit limbs (kept in int64 with room for carries) holds any sum exactly.
 */
#include <math.h>
#include <string.h>

#include "kql/internal.h"
#include "kql/exactsum.h"

#define LIMB_BITS 32
#define LIMB_MASK 0xffffffffLL
#define NORMALIZE_EVERY (1u << 30)

static void normalize(struct exact_sum *sum)
{
	for (size_t i = 0; i + 1 < EXACT_SUM_LIMBS; i++) {
		int64_t carry = sum->limbs[i] >> LIMB_BITS; /* arithmetic: floor */

		sum->limbs[i] -= carry * ((int64_t)1 << LIMB_BITS);
		sum->limbs[i + 1] += carry;
	}
	sum->pending = 0;
}

void kql_exact_sum_add(struct exact_sum *sum, double number)
{
	if (isnan(number)) {
		sum->nans++;
		return;
	}
	if (isinf(number)) {
		if (number > 0)
			sum->positive_infinities++;
		else
			sum->negative_infinities++;
		return;
	}
	if (number == 0)
		return;
	int exponent;
	double fraction = frexp(fabs(number), &exponent); /* [0.5, 1) * 2^exponent */
	/* number = mantissa * 2^(exponent - 53), mantissa < 2^53 */
	int64_t mantissa = (int64_t)ldexp(fraction, 53);
	int position = exponent - 53 + 1074;

	while (position < 0) { /* subnormals: the low bits are zero */
		mantissa >>= 1;
		position++;
	}
	unsigned __int128 bits = (unsigned __int128)mantissa << (position % LIMB_BITS);
	size_t limb = (size_t)position / LIMB_BITS;
	int64_t sign = number < 0 ? -1 : 1;

	for (size_t i = 0; i < 3 && limb + i < EXACT_SUM_LIMBS; i++) {
		sum->limbs[limb + i] += sign * (int64_t)(bits & LIMB_MASK);
		bits >>= LIMB_BITS;
	}
	if (++sum->pending >= NORMALIZE_EVERY)
		normalize(sum);
}

void kql_exact_sum_merge(struct exact_sum *into, const struct exact_sum *from)
{
	struct exact_sum copy = *from;

	normalize(into);
	normalize(&copy);
	for (size_t i = 0; i < EXACT_SUM_LIMBS; i++)
		into->limbs[i] += copy.limbs[i];
	into->pending = 1;
	into->nans += from->nans;
	into->positive_infinities += from->positive_infinities;
	into->negative_infinities += from->negative_infinities;
	normalize(into);
}

double kql_exact_sum_value(const struct exact_sum *sum)
{
	if (sum->nans || (sum->positive_infinities && sum->negative_infinities))
		return NAN;
	if (sum->positive_infinities)
		return INFINITY;
	if (sum->negative_infinities)
		return -INFINITY;
	struct exact_sum copy = *sum;

	normalize(&copy);
	bool negative = copy.limbs[EXACT_SUM_LIMBS - 1] < 0;

	if (negative) {
		for (size_t i = 0; i < EXACT_SUM_LIMBS; i++)
			copy.limbs[i] = -copy.limbs[i];
		normalize(&copy);
	}
	long top = -1;

	for (long i = EXACT_SUM_LIMBS - 1; i >= 0; i--) {
		if (copy.limbs[i]) {
			top = i;
			break;
		}
	}
	if (top < 0)
		return 0.0;
	/* the top 64 bits, with every lower bit folded into the last one */
	unsigned __int128 window = 0;
	bool sticky = false;

	for (long i = top; i >= 0; i--) {
		if (i >= top - 2)
			window = (window << LIMB_BITS) | (uint64_t)copy.limbs[i];
		else if (copy.limbs[i])
			sticky = true;
	}
	int lowest = (int)((top >= 2 ? top - 2 : 0) * LIMB_BITS);

	while (window >> 64) {
		sticky = sticky || (window & 1);
		window >>= 1;
		lowest++;
	}
	uint64_t head = (uint64_t)window;

	while (head && !(head >> 63) && lowest > 0 && sticky == false) {
		head <<= 1;
		lowest--;
	}
	if (sticky)
		head |= 1;
	double result = ldexp((double)head, lowest - 1074);

	return negative ? -result : result;
}
