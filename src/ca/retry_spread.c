/* When an early GetNextCACert comes back: a point hashed into a window after the shadow
 * generation (see retry_spread.h). */
#include "ca/retry_spread.h"

#include <string.h>

ec_time retry_spread_window(ec_time rollover_period)
{
	ec_time w = rollover_period / 4;
	if (w > RETRY_SPREAD_WINDOW_MAX)
		w = RETRY_SPREAD_WINDOW_MAX;
	return w < 1000 ? 1000 : w;
}

/* FNV-1a over the bytes, then the splitmix64 finaliser: FNV alone leaves the low bits of keys
 * that differ only in their last bytes (consecutive addresses, milliseconds) too alike. */
uint64_t retry_spread_key(const char *source, ec_time arrival)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t n = source != NULL ? strlen(source) : 0;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)source[i]) * 0x100000001b3ULL;
	uint64_t t = (uint64_t)arrival;
	for (int i = 0; i < 8; i++)
		h = (h ^ ((t >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

int64_t retry_spread_seconds(ec_time now, ec_time shadow_at, ec_time window, uint64_t key)
{
	if (window < 1)
		window = 1;
	ec_time at = shadow_at + (ec_time)(key % (uint64_t)window);
	int64_t secs = at > now ? (at - now + 999) / 1000 : 1;
	return secs < 1 ? 1 : secs;
}
