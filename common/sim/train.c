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
	qs_policy_defaults(&o->policy);
	qs_learn_defaults(&o->lp);
	o->window = 30;
	o->replicas = 1;
	qs_reward_defaults(&o->reward);
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
	struct qs_transition tr;
	struct qs_learn_result res;
	json_t *rows = NULL, *row;
	size_t s;
	long e, epoch0 = 0;
	double period = o->period > 0 ? o->period : p->interval;
	struct noise nz = { 1, 0, 0 };
	struct qs_policy_opts po = o->policy;
	enum qs_policy_why why;
	int col, random, rc = 0;

	po.epsilon = o->epsilon;
	po.window = o->window;
	po.ideal = o->reward.ideal;

	qs_sim_init(&sim, p, trace, n, 0, o->replicas, o->seed);
	qs_rand_seed(&rng, o->seed ^ DECIDE_SEED);
	if (h != NULL) {
		rows = json_array();
		epoch0 = h->rows;
	}
	/* The first state: the period before the start, the trace looping. */
	tr.before.pod = sim.ready;
	tr.before.latency = observe_latency(&sim, p, trace, n, period, &nz);
	tr.before.requests = round(qs_sim_window_rate(p, trace, n, sim.now,
	    o->window, 1) * o->window);
	for (e = 0; e < o->epochs; e++) {
		s = qs_table_state(t, tr.before.pod, tr.before.latency,
		    tr.before.requests, clamped);
		col = qs_policy_decide(t, &po, s, &tr.before, &rng, &why);
		random = why == QS_POLICY_WHY_RANDOM;
		tr.action = t->act[col];
		qs_sim_scale(&sim, tr.action);
		qs_sim_advance(&sim, period);
		tr.after.pod = sim.ready;
		tr.after.latency = observe_latency(&sim, p, trace, n, period, &nz);
		tr.after.requests = round(qs_sim_window_rate(p, trace, n, sim.now,
		    o->window, 1) * o->window);
		tr.reward = qs_reward_compute(&o->reward, tr.before.pod, tr.action,
		    tr.before.latency, tr.after.latency);
		/* The action is a column of t: this cannot fail. */
		(void)qs_learn_transition(t, &tr, &o->lp, &res, err);
		*clamped |= res.clamped;
		if (rows != NULL) {
			/* The record qs-reward | qs-update would have written. */
			row = json_object();
			qs_rec_set(row, "epoch", json_integer((json_int_t)(epoch0 + e)));
			qs_rec_obs_set(row, "", &tr.before);
			qs_rec_set(row, "action", json_integer((json_int_t)tr.action));
			qs_rec_obs_set(row, "new_", &tr.after);
			qs_rec_set(row, "reward", qs_reward_json(&o->reward, tr.reward));
			qs_rec_set(row, "q_value", json_real(res.q));
			qs_rec_set(row, "random", json_boolean(random));
			json_array_append_new(rows, row);
			if (json_array_size(rows) == BATCH &&
			    (rc = flush(h, rows, err)) != 0)
				break;
		}
		if (o->progress != NULL && (e + 1) % PROGRESS == 0)
			o->progress(e + 1, o->epochs, o->arg);
		tr.before = tr.after;
	}
	if (rc == 0 && rows != NULL && json_array_size(rows) > 0)
		rc = flush(h, rows, err);
	json_decref(rows);
	qs_sim_free(&sim);
	return rc;
}
