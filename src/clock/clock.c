#include "clock/clock.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/timex.h>
#include <time.h>

struct ec_clock {
	bool simulated;
	bool calendar_valid;
	double rate;
	ec_time sim_base;     /* simulated time at the anchor */
	ec_time anchor_mono;  /* monotonic ms at the anchor */
	pthread_mutex_t lock;
};

static ec_time mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ec_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ec_time ec_elapsed_ms(void)
{
	return mono_ms();
}

static ec_time real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (ec_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ec_clock *clock_alloc(void)
{
	ec_clock *clk = calloc(1, sizeof(*clk));
	if (clk != NULL)
		pthread_mutex_init(&clk->lock, NULL);
	return clk;
}

ec_clock *ec_clock_new_system(bool calendar_valid)
{
	ec_clock *clk = clock_alloc();
	if (clk != NULL)
		clk->calendar_valid = calendar_valid;
	return clk;
}

ec_clock *ec_clock_new_simulated(ec_time start, double rate)
{
	ec_clock *clk = clock_alloc();
	if (clk == NULL)
		return NULL;
	clk->simulated = true;
	clk->rate = rate < 0 ? 0 : rate;
	clk->sim_base = start;
	clk->anchor_mono = mono_ms();
	return clk;
}

void ec_clock_free(ec_clock *clk)
{
	if (clk == NULL)
		return;
	pthread_mutex_destroy(&clk->lock);
	free(clk);
}

/* Caller holds the lock. */
static ec_time sim_now_locked(ec_clock *clk)
{
	if (clk->rate == 0)
		return clk->sim_base;
	return clk->sim_base + (ec_time)((double)(mono_ms() - clk->anchor_mono) * clk->rate);
}

ec_time ec_clock_now(ec_clock *clk)
{
	if (!clk->simulated)
		return real_ms();
	pthread_mutex_lock(&clk->lock);
	ec_time t = sim_now_locked(clk);
	pthread_mutex_unlock(&clk->lock);
	return t;
}

bool ec_clock_is_simulated(ec_clock *clk)
{
	return clk->simulated;
}

bool ec_clock_is_authoritative(ec_clock *clk)
{
	if (clk->simulated || clk->calendar_valid)
		return true;
	struct timex tx = {0};
	int state = adjtimex(&tx);
	return state != -1 && state != TIME_ERROR && !(tx.status & STA_UNSYNC);
}

int ec_clock_set(ec_clock *clk, ec_time t, ec_err *err)
{
	if (!clk->simulated)
		return ec_err_set(err, "the clock is the system clock; only a simulated clock can be moved");
	pthread_mutex_lock(&clk->lock);
	ec_time now = sim_now_locked(clk);
	if (t < now) {
		pthread_mutex_unlock(&clk->lock);
		return ec_err_set(err, "a simulated clock only moves forward");
	}
	clk->sim_base = t;
	clk->anchor_mono = mono_ms();
	pthread_mutex_unlock(&clk->lock);
	return 0;
}

int ec_clock_advance(ec_clock *clk, ec_time delta, ec_err *err)
{
	if (delta < 0)
		return ec_err_set(err, "a simulated clock only moves forward");
	if (!clk->simulated)
		return ec_err_set(err, "the clock is the system clock; only a simulated clock can be moved");
	pthread_mutex_lock(&clk->lock);
	clk->sim_base = sim_now_locked(clk) + delta;
	clk->anchor_mono = mono_ms();
	pthread_mutex_unlock(&clk->lock);
	return 0;
}
