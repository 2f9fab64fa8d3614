/* See LICENSE file for copyright and license details. */
#include <math.h>
#include <stddef.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/history.h"
#include "qs/learn.h"
#include "qs/rand.h"
#include "qs/record.h"
#include "qs/sim.h"
#include "qs/simrun.h"
#include "qs/table.h"

/* History rows are appended in batches of this many. */
#define BATCH 8192
/* Progress is reported every this many epochs. */
#define PROGRESS (1L << 20)
/* Mixed into the seed for the decisions' stream. */
#define DECIDE_SEED 0x9e3779b97f4a7c15ULL

void
qs_simtrain_defaults(struct qs_simtrain *o)
{
	o->epochs = 1000;
	o->period = 0;
	o->epsilon = QS_EPSILON;
	o->alpha = QS_ALPHA;
	o->gamma = QS_GAMMA;
	o->window = 30;
	o->replicas = 1;
	o->rule = QS_REWARD_NOTEBOOK;
	o->cost.w_perf = QS_REWARD_W_PERF;
	o->cost.w_res = QS_REWARD_W_RES;
	o->cost.w_adp = QS_REWARD_W_ADP;
	o->cost.max_replicas = 0;
	o->seed = 1;
	o->progress = NULL;
	o->arg = NULL;
}

static int
flush(struct qs_history *h, json_t *rows, struct qs_err *err)
{
	int rc = qs_history_append(h, rows, err);

	json_array_clear(rows);
	return rc;
}

/* The noise factor of the trace interval being observed. */
struct noise {
	double f;
	long interval;
	int drawn;
};

/*
 * The mean latency over the period just ended, with the replicas ready
 * now: latency is linear in the rate, so it is the latency of the mean
 * rate.  Then the noise factor of the trace interval the period ended in
 * (one draw per interval, as qs-sim eval has it, so that a latency seen
 * early in an interval says something about the rest of it), the cap,
 * and rounding as qs-observe reports it.
 */
static double
observe_latency(struct qs_sim *sim, const struct qs_sim_params *p,
    const double *trace, size_t n, double period, struct noise *nz)
{
	double l = qs_sim_latency(p, sim->ready,
	    qs_sim_window_rate(p, trace, n, sim->now, period, 1));
	long iv = (long)floor((sim->now - period / 2) / p->interval);

	if (p->noise > 0) {
		if (!nz->drawn || iv != nz->interval) {
			nz->f = exp(p->noise * qs_rand_normal(&sim->rng));
			nz->interval = iv;
			nz->drawn = 1;
		}
		l *= nz->f;
	}
	return round(l < p->max_latency ? l : p->max_latency);
}

int
qs_simtrain_run(struct qs_table *t, const struct qs_sim_params *p,
    const double *trace, size_t n, const struct qs_simtrain *o,
    struct qs_history *h, int *clamped, struct qs_err *err)
{
	struct qs_rand rng;
	struct qs_sim sim;
	json_t *rows = NULL;
	size_t s, s2;
	double lat, req, nlat, nreq, r, q;
	long e, pod, npod, act, epoch0 = 0;
	double period = o->period > 0 ? o->period : p->interval;
	struct noise nz = { 1, 0, 0 };
	int col, random, rc = 0;

	qs_sim_init(&sim, p, trace, n, 0, o->replicas, o->seed);
	qs_rand_seed(&rng, o->seed ^ DECIDE_SEED);
	if (h != NULL) {
		rows = json_array();
		epoch0 = h->rows;
	}
	/* The first state: the period before the start, the trace looping. */
	pod = sim.ready;
	lat = observe_latency(&sim, p, trace, n, period, &nz);
	req = round(qs_sim_window_rate(p, trace, n, sim.now, o->window, 1) *
	    o->window);
	for (e = 0; e < o->epochs; e++) {
		s = qs_table_state(t, pod, lat, req, clamped);
		col = qs_learn_decide(t, s, o->epsilon, &rng, &random);
		act = t->act[col];
		qs_sim_scale(&sim, act);
		qs_sim_advance(&sim, period);
		npod = sim.ready;
		nlat = observe_latency(&sim, p, trace, n, period, &nz);
		nreq = round(qs_sim_window_rate(p, trace, n, sim.now, o->window,
		    1) * o->window);
		if (o->rule == QS_REWARD_COST)
			r = qs_reward_cost(&o->cost, p->ideal, pod, act, nlat);
		else
			r = qs_reward_notebook(p->ideal, pod, act, lat, nlat);
		s2 = qs_table_state(t, npod, nlat, nreq, clamped);
		q = qs_learn_update(t, s, col, r, s2, o->alpha, o->gamma,
		    QS_COMPAT_NONE);
		if (rows != NULL) {
			json_array_append_new(rows, json_pack("{s:I,s:I,s:I,s:I,s:I,"
			    "s:I,s:I,s:o,s:f,s:b}",
			    "epoch", (json_int_t)(epoch0 + e),
			    "pod", (json_int_t)pod,
			    "latency", (json_int_t)lat,
			    "requests", (json_int_t)req,
			    "action", (json_int_t)act,
			    "new_latency", (json_int_t)nlat,
			    "new_requests", (json_int_t)nreq,
			    "reward", o->rule == QS_REWARD_COST ? json_real(r) :
			    json_integer((json_int_t)r),
			    "q_value", q,
			    "random", random));
			if (json_array_size(rows) == BATCH &&
			    (rc = flush(h, rows, err)) != 0)
				break;
		}
		if (o->progress != NULL && (e + 1) % PROGRESS == 0)
			o->progress(e + 1, o->epochs, o->arg);
		pod = npod;
		lat = nlat;
		req = nreq;
	}
	if (rc == 0 && rows != NULL && json_array_size(rows) > 0)
		rc = flush(h, rows, err);
	json_decref(rows);
	qs_sim_free(&sim);
	return rc;
}
