/* See LICENSE file for copyright and license details. */
#include <math.h>
#include <stddef.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/history.h"
#include "qs/learn.h"
#include "qs/num.h"
#include "qs/rand.h"
#include "qs/ready.h"
#include "qs/record.h"
#include "qs/sim.h"
#include "qs/simrun.h"
#include "qs/simstep.h"
#include "qs/table.h"
#include "qs/xalloc.h"

/* History rows are appended in batches of this many. */
#define BATCH 8192
/* Progress is reported every this many epochs. */
#define PROGRESS (1L << 20)
/* Mixed into the seed for the decisions' stream. */
#define DECIDE_SEED 0x9e3779b97f4a7c15ULL

/* Steps kept for observations beyond this are refused: they would not fit. */
#define MAX_KEEP 1000000.0

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
	o->substep = 15;
	o->observation_delay = 0;
	o->dropped = NULL;
	o->wait = 0;
}

int
qs_simtrain_check(const struct qs_sim_params *p, const struct qs_simtrain *o,
    struct qs_err *err)
{
	struct qs_simstep_plan pl;
	char b1[QS_NUM_MAX], b2[QS_NUM_MAX], b3[QS_NUM_MAX], b4[QS_NUM_MAX];
	double period = o->period > 0 ? o->period : p->interval, steps;

	qs_simstep_plan(p, o->substep, period, MAX_KEEP, &pl);
	/* The steps of an epoch, and those an observation looks back on. */
	steps = fmax(ceil(period / pl.h - 1e-9),
	    qs_simstep_keep(&pl, o->observation_delay, o->window));
	if (o->wait > MAX_KEEP * period)
		return qs_err_set(err, EX_USAGE, "a --wait of %s s spans more than "
		    "%.0f periods of %s s: choose a shorter --wait or a longer "
		    "--period", (qs_num_format(b1, o->wait), b1), MAX_KEEP,
		    (qs_num_format(b2, period), b2));
	if (pl.m <= MAX_KEEP && pl.ticks <= MAX_KEEP && steps <= MAX_KEEP)
		return 0;
	qs_num_format(b1, period);
	qs_num_format(b2, o->observation_delay);
	qs_num_format(b3, o->window);
	qs_num_format(b4, pl.h);
	return qs_err_set(err, EX_USAGE, "an epoch of %s s, an "
	    "--observation-delay of %s s and a --window of %s s span %.0f steps "
	    "of %s s, too many (at most %.0f): choose a longer --substep, or a "
	    "shorter --period, --observation-delay or --window", b1, b2, b3,
	    steps, b4, MAX_KEEP);
}

static int
flush(struct qs_history *h, json_t *rows, struct qs_err *err)
{
	int rc = qs_history_append(h, rows, err);

	json_array_clear(rows);
	return rc;
}

/* The row qs-reward | qs-update would have written for tr; a new reference. */
static json_t *
history_row(const struct qs_simtrain *o, long epoch,
    const struct qs_transition *tr, double q, int random)
{
	json_t *row = json_object();

	qs_rec_set(row, "epoch", json_integer((json_int_t)epoch));
	qs_rec_obs_set(row, "", &tr->before);
	qs_rec_set(row, "action", json_integer((json_int_t)tr->action));
	qs_rec_obs_set(row, "new_", &tr->after);
	qs_rec_set(row, "reward", qs_reward_json(&o->reward, tr->reward));
	qs_rec_set(row, "q_value", json_real(q));
	qs_rec_set(row, "random", json_boolean(random));
	qs_rec_set(row, "applied", json_integer((json_int_t)tr->action));
	qs_rec_set(row, "new_pod", json_integer((json_int_t)tr->after.pod));
	return row;
}

/* A transition in flight: decided, its after-state not yet observed. */
struct flight {
	struct qs_obs before;
	long action;
	double due;		/* when it is completed */
	int random;
};

int
qs_simtrain_run(struct qs_table *t, const struct qs_sim_params *p,
    const double *trace, size_t n, const struct qs_simtrain *o,
    struct qs_history *h, int *clamped, struct qs_err *err)
{
	struct qs_simstep_plan pl;
	struct qs_simstep st;
	struct qs_rand rng;
	struct qs_transition tr;
	struct qs_learn_result res;
	struct qs_obs now;
	struct flight *fl;
	json_t *rows = NULL;
	long e = 0, epoch0 = 0, learned = 0, dropped = 0, action;
	long long first;
	double period = o->period > 0 ? o->period : p->interval;
	double wait = o->wait > 0 ? o->wait : period;
	double delay = o->observation_delay, keep, next = 0, eps, until;
	struct qs_policy_opts po = o->policy;
	enum qs_policy_why why;
	size_t cap, head = 0, inflight = 0;
	int col, rc = 0;

	po.epsilon = o->epsilon;
	po.window = o->window;
	po.ideal = o->reward.ideal;

	qs_simstep_plan(p, o->substep, period, MAX_KEEP, &pl);
	keep = qs_simstep_keep(&pl, delay, o->window);
	if (qs_simtrain_check(p, o, err) != 0)
		return -1;
	eps = 1e-9 * pl.h;
	/* The steps before time 0 that the first observation averages. */
	first = -(long long)(ceil(delay / pl.h - 1e-9) +
	    fmax(1, floor(o->window / pl.h + 0.5)));
	qs_simstep_init(&st, p, trace, n, 1, &pl, first, (size_t)keep,
	    o->replicas, o->seed);
	while (st.step < 0)
		(void)qs_simstep_run(&st);
	qs_rand_seed(&rng, o->seed ^ DECIDE_SEED);
	if (h != NULL) {
		rows = json_array();
		epoch0 = h->rows;
	}
	/* At most one decision a period is in flight for the wait. */
	cap = (size_t)ceil(wait / period) + 2;
	fl = xcalloc(cap, sizeof(*fl));
	(void)qs_simstep_observe(&st, delay, o->window, &now);
	/*
	 * As qs-run: a decision every period, each transition completed the
	 * wait after it, those due first, one observation for them all; a
	 * wait of one period is the loop of decide, run a period, observe.
	 */
	while (rc == 0 && (e < o->epochs || inflight > 0)) {
		while (inflight > 0 && fl[head].due <= qs_simstep_now(&st) + eps) {
			tr.before = fl[head].before;
			tr.action = fl[head].action;
			tr.after = now;
			tr.reward = qs_reward_compute(&o->reward, tr.before.pod,
			    tr.action, tr.before.latency, tr.after.latency);
			/*
			 * As qs-update drops it: what followed was not its
			 * doing.  Its own count is checked, as qs-run has
			 * qs-update check it, not the newest decision's,
			 * which at a short period is a start-up not yet over;
			 * so its history row replays through qs-update alike.
			 */
			if (qs_ready_dropped(tr.after.pod, tr.action)) {
				dropped++;
			} else {
				/* The action is a column of t: this cannot fail. */
				(void)qs_learn_transition(t, &tr, &o->lp, &res, err);
				*clamped |= res.clamped;
				if (rows != NULL) {
					json_array_append_new(rows, history_row(o,
					    epoch0 + learned, &tr, res.q,
					    fl[head].random));
					if (json_array_size(rows) == BATCH &&
					    (rc = flush(h, rows, err)) != 0)
						break;
				}
				learned++;
			}
			head = (head + 1) % cap;
			inflight--;
		}
		if (rc != 0)
			break;
		if (e < o->epochs && next <= qs_simstep_now(&st) + eps) {
			col = qs_policy_decide(t, &po, qs_table_state(t, now.pod,
			    now.latency, now.requests, clamped), &now, &rng, &why);
			action = t->act[col];
			fl[(head + inflight) % cap] = (struct flight){ now, action,
			    qs_simstep_now(&st) + wait, why == QS_POLICY_WHY_RANDOM };
			inflight++;
			qs_sim_scale(&st.sim, action);
			while (next <= qs_simstep_now(&st) + eps)
				next += period;
			e++;
			if (o->progress != NULL && e % PROGRESS == 0)
				o->progress(e, o->epochs, o->arg);
		}
		/* Run to the next decision or completion, and observe there. */
		until = e < o->epochs ? next : INFINITY;
		if (inflight > 0 && fl[head].due < until)
			until = fl[head].due;
		if (!isfinite(until))
			break;
		do
			(void)qs_simstep_run(&st);
		while (qs_simstep_now(&st) < until - eps);
		(void)qs_simstep_observe(&st, delay, o->window, &now);
	}
	if (rc == 0 && rows != NULL && json_array_size(rows) > 0)
		rc = flush(h, rows, err);
	json_decref(rows);
	free(fl);
	qs_simstep_free(&st);
	if (o->dropped != NULL)
		*o->dropped = dropped;
	return rc;
}
