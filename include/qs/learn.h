/* See LICENSE file for copyright and license details. */
#ifndef QS_LEARN_H
#define QS_LEARN_H

#include <stddef.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/rand.h"
#include "qs/record.h"
#include "qs/table.h"

/* Defaults of the notebook. */
#define QS_IDEAL_LATENCY 500.0
#define QS_ALPHA 0.1
#define QS_GAMMA 0.6
#define QS_EPSILON 0.1

enum qs_compat {
	QS_COMPAT_NONE,
	QS_COMPAT_NOTEBOOK
};

/*
 * Epsilon-greedy choice in state s: with probability epsilon a uniformly
 * random column (*random set to 1), else the best one, ties to the lowest
 * replica count.  Returns the column.
 */
int qs_learn_decide(const struct qs_table *t, size_t s, double epsilon,
    struct qs_rand *rng, int *random);

/*
 * The Q-learning update of Q(s, col) after reward r and next state s2:
 * (1 - alpha) Q(s, col) + alpha (r + gamma max Q(s2, .)).  With
 * QS_COMPAT_NOTEBOOK, the notebook's arithmetic: max Q(s, .) instead of
 * Q(s, col), both maxima truncated to integers.  Stores and returns the
 * new value.
 */
double qs_learn_update(struct qs_table *t, size_t s, int col, double r,
    size_t s2, double alpha, double gamma, enum qs_compat compat);

/* The notebook's reward rules (get_reward); pods compare action to pod. */
int qs_reward_notebook(double ideal, long pod, long action, double latency,
    double new_latency);

/* The rule sets a reward can be computed by. */
enum qs_reward_rule {
	QS_REWARD_NOTEBOOK,
	QS_REWARD_COST
};

/* Parse "notebook" or "cost"; returns -1 for anything else. */
int qs_reward_rule_parse(const char *s, enum qs_reward_rule *rule);

/*
 * Weights of the cost-aware rule set, after Rossi, Nardelli and Cardellini
 * (IEEE CLOUD 2019): performance (the new latency above the ideal),
 * resources (the share of max_replicas used) and adaptation (any change of
 * the replica count).  Their defaults are the paper's 0.90, 0.09, 0.01.
 */
struct qs_reward_cost {
	double w_perf, w_res, w_adp;
	long max_replicas;
};

#define QS_REWARD_W_PERF 0.90
#define QS_REWARD_W_RES 0.09
#define QS_REWARD_W_ADP 0.01

/*
 * Parse "perf,res,adp", three non-negative numbers, into c's weights;
 * returns 0, or -1 leaving c unchanged.
 */
int qs_reward_cost_parse(const char *s, struct qs_reward_cost *c);

/*
 * The cost-aware reward: minus the weighted cost, in [-1, 0].
 * w_perf * [new_latency > ideal] + w_res * action / max_replicas +
 * w_adp * [action != pod].
 */
double qs_reward_cost(const struct qs_reward_cost *c, double ideal, long pod,
    long action, double new_latency);

/*
 * The reward of a transition, one description for every tool that
 * computes one: the rule set, the latency objective and the cost rules'
 * weights and replica budget (max_replicas 0: not known yet).
 */
struct qs_reward {
	enum qs_reward_rule rule;
	double ideal;
	struct qs_reward_cost cost;
};

/* The defaults: the notebook's rules, its ideal, the paper's weights. */
void qs_reward_defaults(struct qs_reward *r);

/*
 * The reward r gives to going from pod replicas at latency to action
 * replicas at new_latency: qs_reward_notebook or qs_reward_cost.
 */
double qs_reward_compute(const struct qs_reward *r, long pod, long action,
    double latency, double new_latency);

/*
 * A reward v as a record field: an integer for the notebook's rules, as
 * its history has them, a real for the cost rules.  Returns a new
 * reference.
 */
json_t *qs_reward_json(const struct qs_reward *r, double v);

/* How a transition is learned from. */
struct qs_learn_params {
	double alpha, gamma;
	enum qs_compat compat;
};

/* The notebook's alpha and gamma, and its arithmetic not asked for. */
void qs_learn_defaults(struct qs_learn_params *lp);

/*
 * One step of the environment: the state observed before, the action
 * applied (a replica count), the reward it earned and the state observed
 * after.
 */
struct qs_transition {
	struct qs_obs before;
	long action;
	double reward;
	struct qs_obs after;
};

/* What learning a transition did. */
struct qs_learn_result {
	size_t s, s2;		/* the states before and after */
	int col;		/* the action's column */
	double q;		/* the new Q(s, col) */
	int clamped;		/* QS_CLAMP_* bits of both observations */
};

/*
 * Learn tr in t: map both observations to states (observations outside
 * the table count in the edge buckets and are reported in res->clamped,
 * for the caller to warn about), then qs_learn_update, and count the
 * update in the state's visits when the table has them.  The one learning
 * step of qs-update, qs-sim train and qs-sim eval --learn.  Returns 0, or
 * -1 with err (EX_DATAERR) leaving t unchanged when the action is not a
 * column of t.
 */
int qs_learn_transition(struct qs_table *t, const struct qs_transition *tr,
    const struct qs_learn_params *lp, struct qs_learn_result *res,
    struct qs_err *err);

#endif
